#include "app/pid_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace hearth::app {

std::string PidFile::write(const std::string& path) {
  if (path.empty()) return {};
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return "pid file " + path + ": " + std::strerror(errno);
  std::string text = std::to_string(::getpid()) + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  int e = errno;
  ::close(fd);
  if (!ok) return "pid file " + path + ": " + std::strerror(e);
  path_ = path;
  return {};
}

void PidFile::remove() {
  if (path_.empty()) return;
  // Only if it still names us (a new hearthd after `hearthctl upgrade` rewrites it).
  int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    char buf[32] = {};
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n > 0 && std::atol(buf) == ::getpid()) ::unlink(path_.c_str());
  }
  path_.clear();
}

}  // namespace hearth::app
