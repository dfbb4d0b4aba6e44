#include "config/apps.h"

#include <toml++/toml.h>

#include <algorithm>
#include <map>
#include <set>

#include "config/defaults.h"
#include "config/edit_distance.h"
#include "config/toml_reader.h"
#include "config/validate.h"
#include "routing/router.h"

namespace hearth::config {
namespace {

// The per-app keys: the application, its workers and their lifecycle. The
// sections' keys ("health.path") follow their section.
constexpr std::string_view kAppKeys[] = {
    "app",          "python",       "chdir",          "pythonpath",       "preload",
    "interface",    "lifespan",     "env",            "workers",          "threads",
    "concurrency",  "max_queue",    "queue_timeout",  "timeout",          "graceful_timeout",
    "boot_timeout", "retry_methods", "max_requests",  "max_requests_jitter", "max_worker_memory",
    "memory_budget", "min_workers", "max_workers",    "idle_timeout",     "memory_interval",
    "ready_min",    "health",       "warmup",         "keepwarm",         "hooks",
};
constexpr std::string_view kAppSections[] = {"health", "warmup", "keepwarm", "hooks"};

constexpr KeySpec kAppsEntry[] = {
    {"name", "string", "(required)", "",
     "unique, `[a-z0-9_-]` (at most 64): used by `hearthctl status|reload|scale NAME`, `/readyz?app=NAME`, the "
     "`app` label in `/metrics` and the log"},
    {"hosts", "string or array", "(none: the default group)", "",
     "exact host names (`\"api.example.com\"`) and wildcards (`\"*.example.com\"`, any deeper name); compared "
     "without case, port or trailing dot"},
    {"prefix", "string", "`\"\"` (every path)", "",
     "path prefix on a segment boundary (`\"/blog\"` matches `/blog` and `/blog/x`, not `/blogger`); the app sees "
     "`SCRIPT_NAME` = the prefix and `PATH_INFO` = the rest (ASGI: `root_path`)"},
};

// keepwarm.jitter that was not set follows the interval (as loader.cc does for the top level).
void resolve_jitter(Config& c, const Provenance& prov) {
  if (prov.label("keepwarm.jitter") == "keepwarm.jitter") c.keepwarm.jitter = c.keepwarm.interval / 10;
}

}  // namespace

bool is_app_block_key(std::string_view key) {
  for (auto k : kAppKeys) {
    if (k == key) return true;
  }
  for (auto s : kAppSections) {
    if (key.size() > s.size() && key.substr(0, s.size()) == s && key[s.size()] == '.') return find_key(key) != nullptr;
  }
  return false;
}

std::string suggest_app_block_key(std::string_view unknown) {
  std::string best;
  size_t best_d = 3;
  auto consider = [&](std::string_view k) {
    size_t d = edit_distance(unknown, k);
    if (d < best_d) {
      best_d = d;
      best = std::string(k);
    }
  };
  for (const auto& k : schema()) {
    if (is_app_block_key(k.key)) consider(k.key);
  }
  for (const auto& k : kAppsEntry) consider(k.key);
  return best;
}

bool is_app_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

std::span<const KeySpec> apps_entry_schema() { return kAppsEntry; }

std::span<const std::string_view> app_block_keys() { return kAppKeys; }

std::vector<AppConfig> read_apps(std::string_view text, const std::string& path, const Config& top,
                                 const Provenance& top_prov, unsigned cores, Action action,
                                 const std::vector<std::string>& top_errors, std::vector<std::string>& errors) {
  std::vector<AppConfig> out;
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(path));
  } catch (const toml::parse_error&) {
    return out;  // read_toml() reported it
  }
  const toml::array* arr = root["apps"].as_array();
  if (!arr) return out;
  std::string array_at = toml_where(path, arr->source().begin);
  if (!top.app.empty()) {
    errors.push_back(top_prov.label("app") + ": cannot be combined with [[apps]] (" + array_at +
                     "): give each [[apps]] entry its own `app`");
  }
  if (arr->empty()) errors.push_back(array_at + ": apps: at least one [[apps]] entry is needed");
  const std::set<std::string> seen_top(top_errors.begin(), top_errors.end());
  std::map<std::string, size_t> names;
  bool names_ok = true;
  std::vector<routing::RouteSpec> specs;
  for (size_t i = 0; i < arr->size(); ++i) {
    const toml::table* t = arr->get(i)->as_table();
    if (!t) continue;  // reported by the top-level reader
    std::string key = "apps[" + std::to_string(i) + "]";
    std::string at = toml_where(path, t->source().begin);
    AppConfig a;
    bool good = true;
    auto bad = [&](const toml::node& n, const std::string& k, const std::string& expected) {
      errors.push_back(toml_where(path, n.source().begin) + ": " + key + "." + k + ": expected " + expected +
                       ", got " + toml_render(n));
      good = false;
    };
    if (const toml::node* n = t->get("name")) {
      if (auto s = n->as_string()) {
        a.name = s->get();
        if (!is_app_name(a.name)) {
          errors.push_back(toml_where(path, n->source().begin) + ": " + key + ".name: '" + a.name +
                           "' is not a valid app name (1 to 64 of a-z, 0-9, '_' and '-')");
          names_ok = false;
        } else if (auto it = names.find(a.name); it != names.end()) {
          errors.push_back(toml_where(path, n->source().begin) + ": " + key + ".name: '" + a.name +
                           "' is already the name of apps[" + std::to_string(it->second) + "]");
          names_ok = false;
        } else {
          names[a.name] = i;
        }
      } else {
        bad(*n, "name", "a string");
        names_ok = false;
      }
    } else {
      errors.push_back(at + ": " + key + ": `name` is required in every [[apps]] entry");
      names_ok = false;
    }
    std::string who = a.name.empty() ? key : "[[apps]] " + a.name;
    if (const toml::node* n = t->get("hosts")) {
      if (auto s = n->as_string()) {
        a.hosts.push_back(s->get());
      } else if (auto l = n->as_array()) {
        for (const auto& h : *l) {
          if (auto s = h.as_string()) a.hosts.push_back(s->get());
          else bad(h, "hosts", "a host name");
        }
      } else {
        bad(*n, "hosts", "a host name or an array of them");
      }
    }
    if (const toml::node* n = t->get("prefix")) {
      if (auto s = n->as_string()) a.prefix = s->get();
      else bad(*n, "prefix", "a path prefix such as \"/blog\"");
    }
    Config c = top;
    c.apps.clear();
    Provenance prov = top_prov;
    TomlReader reader(path, c, prov, TomlReader::Scope::AppBlock);
    reader.read(*t);  // skips name, hosts and prefix
    for (auto& e : reader.take_errors()) {
      errors.push_back(std::move(e));
      good = false;
    }
    resolve_workers(c, cores);
    resolve_jitter(c, prov);
    const bool needs_app = action == Action::Run || action == Action::CheckConfig;
    if (needs_app && c.app.empty()) {
      errors.push_back(at + ": " + who + ": `app` is required (MODULE:CALLABLE)");
    } else if (needs_app && !is_app_spec(c.app)) {
      errors.push_back(prov.label("app") + ": expected MODULE:CALLABLE or MODULE:FACTORY() such as "
                       "myproject.wsgi:application, got '" + c.app + "' (in " + who + ")");
    }
    if (good) {
      // The same rules as the top level; what the top level already said is not repeated.
      for (auto& e : validate(c, action, prov)) {
        if (seen_top.count(e) || e.rfind("no application given", 0) == 0) continue;
        errors.push_back(e + " (in " + who + ")");
      }
    }
    a.settings = std::make_shared<const Config>(std::move(c));
    specs.push_back(routing::RouteSpec{a.name, a.hosts, a.prefix, false});
    out.push_back(std::move(a));
  }
  if (names_ok && !specs.empty()) {
    auto built = routing::RouteTable::build(std::move(specs));
    for (auto& e : built.errors) errors.push_back(array_at + ": apps: " + e);
  }
  return out;
}

std::vector<AppConfig> apps_of(const std::shared_ptr<const Config>& cfg) {
  if (!cfg->apps.empty()) return cfg->apps;
  if (cfg->app.empty() && !cfg->upstreams.empty()) return {};  // only [[upstreams]]: no Python app
  return {AppConfig{kSingleAppName, {}, "", cfg}};
}

}  // namespace hearth::config
