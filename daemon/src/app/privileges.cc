#include "app/privileges.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hearth::app {

namespace {

std::optional<unsigned long> numeric(const std::string& s) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  unsigned long v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned long>(ch - '0');
  }
  return v;
}

const char* kHowToFix =
    "set `user = \"NAME\"` (--user NAME) to run as an unprivileged user after binding, or "
    "`allow_root = true` (--allow-root, HEARTH_ALLOW_ROOT=1) to run the app as root";

}  // namespace

AccountLookup system_accounts() {
  AccountLookup l;
  l.user = [](const std::string& name) -> std::optional<Account> {
    std::vector<char> buf(16384);
    passwd pw{};
    passwd* res = nullptr;
    int rc;
    if (auto n = numeric(name))
      rc = ::getpwuid_r(static_cast<uid_t>(*n), &pw, buf.data(), buf.size(), &res);
    else
      rc = ::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &res);
    if (rc == 0 && res) return Account{pw.pw_uid, pw.pw_gid, pw.pw_name};
    // A bare uid with no passwd entry is still usable (containers often run so).
    if (auto n = numeric(name)) return Account{static_cast<uid_t>(*n), static_cast<gid_t>(*n), name};
    return std::nullopt;
  };
  l.group = [](const std::string& name) -> std::optional<gid_t> {
    if (auto n = numeric(name)) return static_cast<gid_t>(*n);
    std::vector<char> buf(16384);
    group gr{};
    group* res = nullptr;
    if (::getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &res) == 0 && res) return gr.gr_gid;
    return std::nullopt;
  };
  return l;
}

PrivilegePlan plan_privileges(uid_t euid, gid_t egid, const config::Config& cfg, const AccountLookup& lookup) {
  PrivilegePlan p;
  auto refuse = [&p](std::string msg) {
    p.kind = PrivilegePlan::Kind::Refuse;
    p.error = std::move(msg);
    return p;
  };
  if (cfg.user.empty()) {
    if (!cfg.group.empty()) return refuse("`group` needs `user` as well");
    if (euid != 0) return p;  // an ordinary user: nothing to do
    if (!cfg.allow_root) return refuse(std::string("hearthd was started as root and would run the app as root; ") + kHowToFix);
    p.warning = "running the app as root (allow_root = true)";
    return p;
  }
  std::optional<Account> acct = lookup.user(cfg.user);
  if (!acct) return refuse("user '" + cfg.user + "' does not exist");
  gid_t gid = acct->gid;
  if (!cfg.group.empty()) {
    std::optional<gid_t> g = lookup.group(cfg.group);
    if (!g) return refuse("group '" + cfg.group + "' does not exist");
    gid = *g;
  }
  if (acct->uid == 0 && !cfg.allow_root)
    return refuse("user '" + cfg.user + "' is root; set `allow_root = true` to run the app as root");
  if (euid != 0) {
    // Not root: `user` may only name who we already are.
    if (acct->uid != euid || (!cfg.group.empty() && gid != egid))
      return refuse("user = '" + cfg.user + "'" + (cfg.group.empty() ? "" : " / group = '" + cfg.group + "'") +
                    " needs hearthd to be started as root (it runs as uid " + std::to_string(euid) + ")");
    return p;
  }
  if (acct->uid == 0 && gid == 0) {
    p.warning = "running the app as root (user = '" + cfg.user + "', allow_root = true)";
    return p;
  }
  p.kind = PrivilegePlan::Kind::Drop;
  p.uid = acct->uid;
  p.gid = gid;
  p.user = acct->name;
  return p;
}

std::string drop_privileges(const PrivilegePlan& plan) {
  if (plan.kind != PrivilegePlan::Kind::Drop) return {};
  auto fail = [](const char* what) { return std::string(what) + ": " + std::strerror(errno); };
  // The user's supplementary groups, as login would set them; a uid with no
  // passwd entry gets none.
  if (::initgroups(plan.user.c_str(), plan.gid) != 0) {
    gid_t g = plan.gid;
    if (::setgroups(1, &g) != 0) return fail("setgroups");
  }
  if (::setgid(plan.gid) != 0) return fail("setgid");
  if (::setuid(plan.uid) != 0) return fail("setuid");
  if (plan.uid != 0 && (::setuid(0) == 0 || ::seteuid(0) == 0)) return "root could be regained after setuid";
  return {};
}

}  // namespace hearth::app
