#pragma once
// What a configuration reload does to the apps ([[apps]], docs/several-apps.md
// "Reloading the configuration"): the apps running now against the apps the
// file names now, matched by name. Pure; the Daemon carries it out
// (daemon_apps.cc).
#include <functional>
#include <string>
#include <vector>

#include "config/config.h"

namespace hearth::app {

struct AppChange {
  enum class Kind {
    Added,     // only in the new file: a new app starts; routed once ready
    Kept,      // same settings and prefix: its workers get the usual rolling reload (hosts may change)
    Replaced,  // settings or prefix changed, or it had failed: a new app of that name starts;
               // once ready it takes the route and the old one drains and stops
    Removed,   // not in the new file: leaves the route at once, drains and stops
  };
  Kind kind;
  std::string name;
};

// `next` in its file order (Added, Kept, Replaced), then the Removed ones in
// `now`'s order. `failed(name)`: that running app failed to start (it is
// replaced even when unchanged, so a reload retries it).
std::vector<AppChange> plan_app_changes(const std::vector<config::AppConfig>& now,
                                        const std::vector<config::AppConfig>& next,
                                        const std::function<bool(const std::string&)>& failed);

// The [[upstreams]] the same way, by name: Added; Kept (the entry is the same:
// untouched, a command upstream's process keeps running); Replaced (any key
// changed, hosts included: a new unit starts and takes the route once ready);
// Removed. Same order as plan_app_changes.
std::vector<AppChange> plan_upstream_changes(const std::vector<config::UpstreamConfig>& now,
                                             const std::vector<config::UpstreamConfig>& next);

// The per-app settings as text, for comparing two files' versions of an app
// (the top-level [[apps]] and [[upstreams]] lists left out).
std::string settings_fingerprint(const config::Config& settings);

const char* change_name(AppChange::Kind k);

}  // namespace hearth::app
