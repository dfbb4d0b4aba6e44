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

// Opens an anonymous temp file in `dir`: O_TMPFILE first, mkstemp+unlink as fallback.
int open_anonymous(const std::string& dir, int* err) {
  int fd = -1;
#ifdef O_TMPFILE
  fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
#endif
  std::string tmpl = dir;
  if (tmpl.empty() || tmpl.back() != '/') tmpl += '/';
  tmpl += "hearth-spool-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  fd = ::mkostemp(buf.data(), O_CLOEXEC);
  if (fd < 0) {
    *err = errno;
    return -1;
  }
  ::unlink(buf.data());
  return fd;
}

}  // namespace

Spool::Spool(uint64_t memory_limit, std::string temp_dir)
    : memory_limit_(memory_limit), temp_dir_(std::move(temp_dir)) {}

Spool::~Spool() {
  if (fd_ >= 0) ::close(fd_);
}

Spool::Spool(Spool&& other) noexcept
    : memory_limit_(other.memory_limit_),
      temp_dir_(std::move(other.temp_dir_)),
      mem_(std::move(other.mem_)),
      fd_(std::exchange(other.fd_, -1)),
      size_(std::exchange(other.size_, 0)) {
  other.mem_.clear();
}

Spool& Spool::operator=(Spool&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    memory_limit_ = other.memory_limit_;
    temp_dir_ = std::move(other.temp_dir_);
    mem_ = std::move(other.mem_);
    other.mem_.clear();
    fd_ = std::exchange(other.fd_, -1);
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
  if (int e = pwrite_all(fd_, data.data(), data.size(), size_)) return errno_code(e);
  size_ += data.size();
  return {};
}

std::error_code Spool::spill() {
  int err = 0;
  int fd = open_anonymous(effective_dir(temp_dir_), &err);
  if (fd < 0) return errno_code(err);
  if (int e = pwrite_all(fd, mem_.data(), mem_.size(), 0)) {
    ::close(fd);
    return errno_code(e);
  }
  fd_ = fd;
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
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  mem_.clear();
  size_ = 0;
}

}  // namespace hearth::http
