#include "control/socket_trust.h"

#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace hearth::control {
namespace {

bool trusted(uid_t uid, uid_t ruid, uid_t euid) { return uid == 0 || uid == ruid || uid == euid; }

std::string parent_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Nobody but the owner may write (group/other write bits clear).
bool owner_only_writes(const struct stat& st) { return (st.st_mode & (S_IWGRP | S_IWOTH)) == 0; }

// Why the directories above a socket owned by `owner` do not make it trusted,
// or "" when they do (see the header). The socket's directory must be root's
// or the owner's, every ancestor root's, and none writable by anyone else;
// a sticky world-writable ancestor (/tmp) is fine above an entry that is
// root's, since nobody else can replace that entry.
std::string why_not_delegated(const std::string& path, uid_t owner) {
  if (path.empty() || path.front() != '/') return "its path is relative";
  std::string dir = parent_of(path);
  uid_t child_uid = owner;
  bool first = true;
  while (true) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) return dir + ": " + std::strerror(errno);
    bool owner_ok = st.st_uid == 0 || (first && st.st_uid == owner);
    bool write_ok = owner_only_writes(st) || ((st.st_mode & S_ISVTX) != 0 && child_uid == 0);
    if (!write_ok) return std::string(first ? "its directory " : "its ancestor ") + dir + " is writable by others";
    if (!owner_ok) return std::string(first ? "its directory " : "its ancestor ") + dir + " is owned by " +
                          describe_uid(st.st_uid);
    if (dir == "/") return {};
    child_uid = st.st_uid;
    dir = parent_of(dir);
    first = false;
  }
}

}  // namespace

std::string describe_uid(uid_t uid) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* res = nullptr;
  if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &res) == 0 && res && res->pw_name) {
    return std::string(res->pw_name) + " (uid " + std::to_string(uid) + ")";
  }
  return "uid " + std::to_string(uid);
}

SocketCheck check_socket_file(const std::string& path, uid_t ruid, uid_t euid) {
  SocketCheck r;
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return r;  // connect() says what is wrong
  if (trusted(st.st_uid, ruid, euid)) return r;
  std::string why = S_ISSOCK(st.st_mode) ? why_not_delegated(path, st.st_uid) : "it is not a socket";
  if (why.empty()) {
    r.delegated = st.st_uid;
    return r;
  }
  r.error = "refusing to use the control socket " + path + ": it is owned by " + describe_uid(st.st_uid) +
            ", not by root or you (" + describe_uid(euid) + "), and " + why +
            "; anyone could have put it there (pass --socket with the daemon's real socket)";
  return r;
}

std::string check_peer(int fd, uid_t ruid, uid_t euid, std::optional<uid_t> delegated) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return std::string("cannot tell who listens on the control socket (SO_PEERCRED): ") + std::strerror(errno);
  }
  if (trusted(cred.uid, ruid, euid) || (delegated && cred.uid == *delegated)) return {};
  return "refusing to talk to the process listening on the control socket: it runs as " + describe_uid(cred.uid) +
         " (pid " + std::to_string(cred.pid) + "), not as root or you (" + describe_uid(euid) + ")";
}

}  // namespace hearth::control
