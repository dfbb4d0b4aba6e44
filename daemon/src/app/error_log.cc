#include "app/error_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hearth::app {

namespace {
std::string put_in_place_of_stderr(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) return "error log " + path + ": " + std::strerror(errno);
  if (::dup2(fd, STDERR_FILENO) < 0) {
    int e = errno;
    ::close(fd);
    return "error log " + path + ": dup2: " + std::strerror(e);
  }
  ::close(fd);
  return {};
}
}  // namespace

std::string ErrorLog::open(const std::string& path) {
  if (path.empty() || path == "-") return {};
  std::string err = put_in_place_of_stderr(path);
  if (err.empty()) path_ = path;
  return err;
}

std::string ErrorLog::reopen() {
  if (path_.empty()) return {};
  return put_in_place_of_stderr(path_);
}

}  // namespace hearth::app
