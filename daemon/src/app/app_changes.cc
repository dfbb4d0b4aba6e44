#include "app/app_changes.h"

#include <algorithm>

#include "config/summary.h"

namespace hearth::app {

std::string settings_fingerprint(const config::Config& settings) {
  config::Config c = settings;
  c.apps.clear();
  c.upstreams.clear();  // planned on their own (plan_upstream_changes)
  c.config_file.clear();
  return config::to_toml(c);
}

std::vector<AppChange> plan_upstream_changes(const std::vector<config::UpstreamConfig>& now,
                                             const std::vector<config::UpstreamConfig>& next) {
  std::vector<AppChange> out;
  auto find = [](const std::vector<config::UpstreamConfig>& v, const std::string& name) {
    return std::find_if(v.begin(), v.end(), [&](const config::UpstreamConfig& u) { return u.name == name; });
  };
  for (const auto& n : next) {
    auto old = find(now, n.name);
    if (old == now.end()) out.push_back({AppChange::Kind::Added, n.name});
    else if (!(*old == n)) out.push_back({AppChange::Kind::Replaced, n.name});
    else out.push_back({AppChange::Kind::Kept, n.name});
  }
  for (const auto& o : now) {
    if (find(next, o.name) == next.end()) out.push_back({AppChange::Kind::Removed, o.name});
  }
  return out;
}

std::vector<AppChange> plan_app_changes(const std::vector<config::AppConfig>& now,
                                        const std::vector<config::AppConfig>& next,
                                        const std::function<bool(const std::string&)>& failed) {
  std::vector<AppChange> out;
  auto find = [](const std::vector<config::AppConfig>& v, const std::string& name) {
    return std::find_if(v.begin(), v.end(), [&](const config::AppConfig& a) { return a.name == name; });
  };
  for (const auto& n : next) {
    auto old = find(now, n.name);
    if (old == now.end()) {
      out.push_back({AppChange::Kind::Added, n.name});
    } else if ((failed && failed(n.name)) || old->prefix != n.prefix ||
               settings_fingerprint(*old->settings) != settings_fingerprint(*n.settings)) {
      out.push_back({AppChange::Kind::Replaced, n.name});
    } else {
      out.push_back({AppChange::Kind::Kept, n.name});
    }
  }
  for (const auto& o : now) {
    if (find(next, o.name) == next.end()) out.push_back({AppChange::Kind::Removed, o.name});
  }
  return out;
}

const char* change_name(AppChange::Kind k) {
  switch (k) {
    case AppChange::Kind::Added: return "added";
    case AppChange::Kind::Kept: return "kept";
    case AppChange::Kind::Replaced: return "replaced";
    case AppChange::Kind::Removed: return "removed";
  }
  return "?";
}

}  // namespace hearth::app
