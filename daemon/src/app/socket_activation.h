#pragma once
// Listening sockets handed to hearthd instead of bound by it: systemd socket
// activation ($LISTEN_FDS sockets from fd 3, $LISTEN_PID == our pid, names in
// $LISTEN_FDNAMES) and a binary upgrade (`hearthctl upgrade`: the same
// variables, with $HEARTH_UPGRADE_FROM == our parent's pid instead of
// $LISTEN_PID, which the parent cannot know before it forks).
//
// Names say what a socket is for: "admin" (the /healthz /readyz /metrics
// listener), "control" (hearthctl's socket); anything else ("http", or
// systemd's default, the socket unit's name) serves the app. App sockets are
// matched to the configured binds by address (a configured port 0 matches any
// port); a configured bind with no inherited socket is bound as usual, and an
// inherited app socket no bind names is served as well.
#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"

namespace hearth::app {

struct ListenEnv {
  int first_fd = 3;
  int count = 0;
  std::vector<std::string> names;  // one per fd ("" when not given)
  bool upgrade = false;            // handed over by a parent hearthd
  int upgrade_ready_fd = -1;       // $HEARTH_UPGRADE_FD: write "READY\n" here when serving
};

// Pure: reads the variables. nullopt (and *error empty) when nothing was passed
// to this process; nullopt with *error set when the variables are malformed.
std::optional<ListenEnv> parse_listen_env(const std::map<std::string, std::string>& env, pid_t pid, pid_t ppid,
                                          std::string* error);

struct InheritedSocket {
  int fd = -1;
  std::string name;
  config::Bind address;  // Tcp host (numeric) + port, or Unix path
};

// Same address: kind, host (numeric compare: "localhost" is 127.0.0.1) and
// port (a configured port 0 matches any), or the same Unix path.
bool bind_matches(const config::Bind& configured, const config::Bind& actual);

struct ActivationPlan {
  std::vector<int> app;        // per configured app bind: the inherited index, or -1 (bind it)
  int admin = -1;              // inherited index for the admin listener, or -1
  int control = -1;            // inherited index for the control socket, or -1
  std::vector<int> extra_app;  // inherited app sockets no configured bind names: served too
  std::vector<int> unused;     // nothing to do with them (e.g. "admin" without admin_bind): closed
};

// Pure: which inherited socket serves what.
ActivationPlan plan_activation(const std::vector<config::Bind>& binds, const std::optional<config::Bind>& admin,
                               const std::string& control_path, const std::vector<InheritedSocket>& inherited);

// Reads each fd's address (getsockname) and marks it close-on-exec. An fd that
// is not a stream socket is an error (start-up regime: *error, empty result).
std::vector<InheritedSocket> inspect_inherited(const ListenEnv& env, std::string* error);

// Removes LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES, HEARTH_UPGRADE_FROM and
// HEARTH_UPGRADE_FD from this process's environment (children must not see them).
void unset_listen_env();

}  // namespace hearth::app
