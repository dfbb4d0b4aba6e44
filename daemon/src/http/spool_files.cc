#include "http/spool_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <utility>

namespace hearth::http {

int open_anonymous_file(const std::string& dir, int* err) {
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

SpoolFiles::SpoolFiles(std::string dir, uint64_t max_bytes, std::function<Clock::time_point()> now,
                       std::chrono::milliseconds idle)
    : dir_(std::move(dir)), max_bytes_(max_bytes), now_(std::move(now)), idle_(idle) {}

SpoolFiles::~SpoolFiles() { clear(); }

SpoolFiles::File SpoolFiles::acquire(int* err) {
  if (!free_.empty()) {
    File f = free_.back().file;
    free_.pop_back();
    free_bytes_ -= f.length;
    ++reused_;
    return f;
  }
  int fd = open_anonymous_file(dir_, err);
  if (fd < 0) return {};
  ++opened_;
  return {fd, 0};
}

void SpoolFiles::release(File file) {
  if (file.fd < 0) return;
  if (max_bytes_ == 0 || file.length > max_bytes_ || free_bytes_ + file.length > max_bytes_ ||
      free_.size() >= kMaxFiles) {
    ::close(file.fd);
    return;
  }
  const bool was_empty = free_.empty();
  free_.push_back({file, now_()});
  free_bytes_ += file.length;
  if (was_empty && wake_) wake_();
}

std::size_t SpoolFiles::trim_idle() {
  const Clock::time_point cutoff = now_() - idle_;
  std::size_t n = 0;  // free_ is oldest first: the idle ones are a prefix
  while (n < free_.size() && free_[n].released <= cutoff) ++n;
  for (std::size_t i = 0; i < n; ++i) {
    free_bytes_ -= free_[i].file.length;
    ::close(free_[i].file.fd);
  }
  free_.erase(free_.begin(), free_.begin() + static_cast<std::ptrdiff_t>(n));
  return free_.size();
}

void SpoolFiles::clear() {
  for (const Free& f : free_) ::close(f.file.fd);
  free_.clear();
  free_bytes_ = 0;
}

}  // namespace hearth::http
