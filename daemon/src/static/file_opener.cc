#include "static/file_opener.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

namespace hearth::statics {

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

std::string real_path(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) return "";
  return buf;
}

OpenedFile open_under(const std::string& root_real, const std::string& rel) {
  OpenedFile out;
  std::string path = rel.empty() ? root_real : root_real + "/" + rel;
  std::string real = real_path(path);
  if (real.empty()) return out;  // missing, a dangling link, a file used as a directory
  const bool inside = root_real == "/" || real == root_real ||
                      (real.size() > root_real.size() && real.compare(0, root_real.size(), root_real) == 0 &&
                       real[root_real.size()] == '/');
  if (!inside) {
    out.status = OpenedFile::Status::OutsideRoot;
    return out;
  }
  // O_NOFOLLOW: the real path has no links left unless one was swapped in
  // since realpath(); O_NONBLOCK: a FIFO must not block the loop.
  int fd = ::open(real.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return out;
  out.fd = UniqueFd(fd);
  if (::fstat(fd, &out.st) != 0) {
    out.fd = UniqueFd();
    return out;
  }
  if (S_ISDIR(out.st.st_mode)) {
    out.status = OpenedFile::Status::Directory;
    out.fd = UniqueFd();
  } else if (S_ISREG(out.st.st_mode)) {
    out.status = OpenedFile::Status::Ok;
  } else {
    out.fd = UniqueFd();
  }
  return out;
}

}  // namespace hearth::statics
