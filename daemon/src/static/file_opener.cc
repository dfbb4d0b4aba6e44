#include "static/file_opener.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

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

namespace {

constexpr int kOpenFlags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;

// Classifies an open descriptor: a regular file keeps it, a directory drops it.
void classify(int fd, OpenedFile& out) {
  out.fd = UniqueFd(fd);
  if (::fstat(fd, &out.st) != 0) {
    out.fd = UniqueFd();
    out.status = OpenedFile::Status::NotFound;
    return;
  }
  if (S_ISDIR(out.st.st_mode)) {
    out.status = OpenedFile::Status::Directory;
    out.fd = UniqueFd();
  } else if (S_ISREG(out.st.st_mode)) {
    out.status = OpenedFile::Status::Ok;
  } else {
    out.status = OpenedFile::Status::NotFound;
    out.fd = UniqueFd();
  }
}

// 1: opened (or definitely missing: `out` says which); 0: use the realpath path.
int open_beneath(int root_fd, const std::string& rel, OpenedFile& out) {
#ifdef SYS_openat2
  static bool unavailable = false;
  if (unavailable) return 0;
  struct open_how how {};
  how.flags = kOpenFlags;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  long fd = ::syscall(SYS_openat2, root_fd, rel.empty() ? "." : rel.c_str(), &how, sizeof how);
  if (fd >= 0) {
    classify(static_cast<int>(fd), out);
    return 1;
  }
  switch (errno) {
    case ENOENT:
    case ENOTDIR:
    case ENAMETOOLONG:
      out.status = OpenedFile::Status::NotFound;
      return 1;
    case ENOSYS:
    case EPERM:  // a seccomp filter that does not know openat2
      unavailable = true;
      return 0;
    default:
      return 0;  // EXDEV (a symlink leaving, or absolute), ELOOP, ...: let realpath decide
  }
#else
  (void)root_fd;
  (void)rel;
  (void)out;
  return 0;
#endif
}

}  // namespace

int open_root(const std::string& dir) { return ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC); }

OpenedFile open_under(const std::string& root_real, const std::string& rel, int root_fd) {
  OpenedFile out;
  if (root_fd >= 0 && open_beneath(root_fd, rel, out) == 1) return out;
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
  int fd = ::open(real.c_str(), kOpenFlags | O_NOFOLLOW);
  if (fd < 0) return out;
  classify(fd, out);
  return out;
}

}  // namespace hearth::statics
