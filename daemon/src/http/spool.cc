#include "http/spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "config/defaults.h"

namespace hearth::http {
namespace {

std::error_code errno_code(int e) { return std::error_code(e, std::system_category()); }

// temp_dir's default is decided in one place (config/defaults.h).
std::string effective_dir(const std::string& dir) { return config::effective_temp_dir(dir); }

// Writes all of `data` at `offset`; 0 on success, else errno.
int pwrite_all(int fd, const char* data, uint64_t len, uint64_t offset) {
  while (len > 0) {
    ssize_t n = ::pwrite(fd, data, len, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return ENOSPC;
    data += n;
    len -= static_cast<uint64_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return 0;
}

}  // namespace

Spool::Spool(uint64_t memory_limit, std::string temp_dir)
    : memory_limit_(memory_limit), temp_dir_(std::move(temp_dir)) {}

Spool::~Spool() { drop_file(); }

void Spool::drop_file() {
  if (fd_ < 0) return;
  if (files_) {
    files_->release({fd_, std::max(file_length_, size_)});
  } else {
    ::close(fd_);
  }
  fd_ = -1;
  file_length_ = 0;
}

Spool::Spool(Spool&& other) noexcept
    : memory_limit_(other.memory_limit_),
      temp_dir_(std::move(other.temp_dir_)),
      mem_(std::move(other.mem_)),
      files_(std::move(other.files_)),
      fd_(std::exchange(other.fd_, -1)),
      file_length_(std::exchange(other.file_length_, 0)),
      size_(std::exchange(other.size_, 0)) {
  other.mem_.clear();
}

Spool& Spool::operator=(Spool&& other) noexcept {
  if (this != &other) {
    drop_file();
    memory_limit_ = other.memory_limit_;
    temp_dir_ = std::move(other.temp_dir_);
    mem_ = std::move(other.mem_);
    other.mem_.clear();
    files_ = std::move(other.files_);
    fd_ = std::exchange(other.fd_, -1);
    file_length_ = std::exchange(other.file_length_, 0);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

std::error_code Spool::append(std::string_view data) {
  if (data.empty()) return {};
  if (fd_ < 0) {
    if (mem_.size() + data.size() <= memory_limit_) {
      mem_.append(data);
      size_ += data.size();
      return {};
    }
    if (std::error_code ec = spill()) return ec;
  }
  if (int e = pwrite_all(fd_, data.data(), data.size(), size_)) {
    file_length_ = std::max(file_length_, size_ + data.size());  // at most this long now
    return errno_code(e);
  }
  size_ += data.size();
  return {};
}

std::error_code Spool::spill() {
  int err = 0;
  SpoolFiles::File file;
  if (files_) {
    file = files_->acquire(&err);
  } else {
    file.fd = open_anonymous_file(effective_dir(temp_dir_), &err);
  }
  if (file.fd < 0) return errno_code(err);
  fd_ = file.fd;
  file_length_ = file.length;
  if (int e = pwrite_all(fd_, mem_.data(), mem_.size(), 0)) {
    ::close(fd_);  // not given back: what it holds is unknown
    fd_ = -1;
    file_length_ = 0;
    return errno_code(e);
  }
  std::string().swap(mem_);
  return {};
}

long Spool::read_at(uint64_t offset, char* out, uint64_t len) const {
  if (offset >= size_ || len == 0) return 0;
  len = std::min<uint64_t>(len, size_ - offset);
  if (fd_ < 0) {
    std::memcpy(out, mem_.data() + offset, len);
    return static_cast<long>(len);
  }
  for (;;) {
    ssize_t n = ::pread(fd_, out, len, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    return static_cast<long>(n);
  }
}

void Spool::clear() {
  drop_file();
  mem_.clear();
  size_ = 0;
}

}  // namespace hearth::http
