#pragma once
// Who the daemon and the app run as (docs/security.md).
//
// Started as root, hearthd binds its listeners, opens its log files and
// creates the control socket, then drops to `user`/`group` for good
// (setgroups, setgid, setuid) before the zygote is spawned: the daemon, the
// zygote and every worker run unprivileged. Started as root with no `user`,
// it refuses to run unless `allow_root = true`. The decision is a pure
// function (plan_privileges) so it can be tested without being root.
#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"

namespace hearth::app {

struct Account {
  uid_t uid = 0;
  gid_t gid = 0;  // primary group
  std::string name;
};

// Name service lookups, injected so tests need no real accounts.
struct AccountLookup {
  // A user name or a numeric uid.
  std::function<std::optional<Account>(const std::string&)> user;
  // A group name or a numeric gid.
  std::function<std::optional<gid_t>(const std::string&)> group;
};
AccountLookup system_accounts();  // getpwnam_r / getgrnam_r

struct PrivilegePlan {
  enum class Kind {
    Stay,    // keep the current identity (not root, or root with allow_root)
    Drop,    // root: become uid/gid after binding
    Refuse,  // do not start: `error` says why and what to set
  };
  Kind kind = Kind::Stay;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string user;     // for initgroups and messages
  std::string error;    // Refuse
  std::string warning;  // Stay as root: logged at start-up
};

PrivilegePlan plan_privileges(uid_t euid, gid_t egid, const config::Config& cfg, const AccountLookup& lookup);

// Applies a Drop plan: supplementary groups, gid, uid, then checks that root
// cannot be regained. Returns "" or what failed.
[[nodiscard]] std::string drop_privileges(const PrivilegePlan& plan);

}  // namespace hearth::app
