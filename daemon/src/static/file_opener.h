#pragma once
// Opens a file below a mount's root, refusing anything whose real path (all
// symlinks resolved) is outside the root. Blocking system calls (realpath,
// open, fstat) on the event loop, like the other small file operations.
#include <sys/stat.h>

#include <string>

namespace hearth::statics {

// An owned file descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd();
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

struct OpenedFile {
  enum class Status {
    Ok,           // fd and st describe a regular file
    Directory,    // the path is a directory inside the root (st is valid)
    NotFound,     // missing, or not a regular file or directory
    OutsideRoot,  // the real path leaves the root (a symlink out of it)
  };
  Status status = Status::NotFound;
  UniqueFd fd;
  struct stat st {};
};

// `root_real` is the realpath of the mount's directory; `rel` a path below
// it made of checked segments ("css/site.css", "" for the root itself).
// With `root_fd` (an O_PATH descriptor of the root, or -1) the file is opened
// in one openat2(RESOLVE_BENEATH) call; only when that is unavailable or the
// path crosses a symlink the kernel will not follow beneath the root (an
// absolute one) does it fall back to realpath() and a prefix check.
OpenedFile open_under(const std::string& root_real, const std::string& rel, int root_fd = -1);

// An O_PATH descriptor of a directory, for open_under(); -1 on failure.
int open_root(const std::string& dir);

// realpath(3) as a string; "" when it fails.
std::string real_path(const std::string& path);

}  // namespace hearth::statics
