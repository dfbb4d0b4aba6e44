#pragma once
// Whom hearthctl may talk to (docs/security.md). A control socket in a
// directory others can write (/tmp) can be squatted while hearthd is down: a
// socket another user created there would receive `stop` from root and have
// its answer printed. hearthctl therefore checks the socket file before it
// connects and the listening process after:
//
// * trusted owner: root or the invoking user (real or effective uid);
// * or a "delegated" owner: the socket sits in a directory owned by root or by
//   the socket's owner that no one else may write, under ancestors that are
//   root's and that no one else may write either. Only root can have set that
//   up (the packaged service's /run/hearth, RuntimeDirectory= of User=hearth),
//   so its owner is who root meant to talk to. /tmp never qualifies.
//
// The peer (SO_PEERCRED) must then be root, the invoking user or that owner.
#include <sys/types.h>

#include <optional>
#include <string>

namespace hearth::control {

// "root (uid 0)", "nobody (uid 65534)", or "uid 1234" when it has no passwd entry.
std::string describe_uid(uid_t uid);

struct SocketCheck {
  std::string error;                // non-empty: do not connect; says who owns what
  std::optional<uid_t> delegated;   // the socket's owner when trusted through its directory
};

// lstat()s `path` (a symlink is judged as itself, and refused unless its
// owner is trusted). A path that does not exist is no error here: connect()
// reports it. `ruid`/`euid`: the invoking user.
[[nodiscard]] SocketCheck check_socket_file(const std::string& path, uid_t ruid, uid_t euid);

// The uid of the process listening on the connected Unix socket `fd`
// (SO_PEERCRED); "" if it is trusted (root, ruid/euid, or `delegated`), else
// the refusal.
[[nodiscard]] std::string check_peer(int fd, uid_t ruid, uid_t euid, std::optional<uid_t> delegated);

}  // namespace hearth::control
