#include "config/upstreams.h"

#include <toml++/toml.h>

#include <charconv>
#include <map>
#include <set>

#include "config/apps.h"
#include "config/edit_distance.h"
#include "config/toml_reader.h"
#include "config/units.h"
#include "routing/router.h"

namespace hearth::config {
namespace {

constexpr KeySpec kUpstreamsEntry[] = {
    {"name", "string", "(required)", "",
     "unique among apps and upstreams, `[a-z0-9_-]` (at most 64): `hearthctl status|reload NAME`, "
     "`/readyz?app=NAME`, the `app` label in `/metrics`, the log"},
    {"hosts", "string or array", "(none: the default group)", "", "as in `[[apps]]`"},
    {"prefix", "string", "`\"\"` (every path)", "", "as in `[[apps]]`"},
    {"strip_prefix", "bool", "false", "",
     "forward the path without the prefix (`/socket/x` under `/socket` reaches the server as `/x`); without it the "
     "whole path is forwarded"},
    {"servers", "array of addresses", "(none)", "",
     "`\"127.0.0.1:3000\"`, `\"[::1]:3000\"`, `\"unix:/run/x.sock\"`: round robin over the healthy ones; not with "
     "`command`"},
    {"command", "string", "(none)", "",
     "run with `/bin/sh -c` and supervised: a free 127.0.0.1 port in `$PORT` (or a socket path in `$SOCKET`), "
     "ready when the health check passes, restarted with backoff, stdout/stderr logged with the name; not with "
     "`servers`"},
    {"env", "table", "{}", "", "command: variables added to hearthd's environment"},
    {"chdir", "path", "(hearthd's)", "", "command: working directory"},
    {"user", "string", "(hearthd's)", "", "command: run as this user; only when hearthd runs as root"},
    {"socket", "bool", "false", "", "command: a Unix socket path in `$SOCKET` instead of a port in `$PORT`"},
    {"timeout", "duration", "the top-level `timeout`", "", "for the response to begin and between its reads (504)"},
    {"connect_timeout", "duration", "5s", "", "connecting to a server (then the next one, or 502)"},
    {"boot_timeout", "duration", "the top-level `boot_timeout`", "",
     "command: from start to ready; `hearthctl reload NAME` gives up (exit 1) after it"},
    {"graceful_timeout", "duration", "the top-level `graceful_timeout`", "",
     "command: SIGTERM, then SIGKILL after this; also how long a reload drains the old process"},
    {"health.path", "string", "(none: a connect is the check)", "",
     "GET this path: 2xx/3xx is healthy (readiness of a command, active checks of every server)"},
    {"health.interval", "duration", "10s", "", "between active checks"},
};

std::string suggest(std::string_view unknown) {
  std::string best;
  size_t best_d = 3;
  for (const auto& k : kUpstreamsEntry) {
    size_t d = edit_distance(unknown, k.key);
    if (d < best_d) {
      best_d = d;
      best = std::string(k.key);
    }
  }
  return best;
}

}  // namespace

std::optional<ServerAddress> parse_server_address(std::string_view text) {
  ServerAddress a;
  if (text.substr(0, 5) == "unix:") {
    a.kind = ServerAddress::Kind::Unix;
    a.path = std::string(text.substr(5));
    if (a.path.empty() || a.path.size() >= 108) return std::nullopt;
    return a;
  }
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string_view host = text.substr(0, colon), port = text.substr(colon + 1);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return std::nullopt;
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return std::nullopt;  // an IPv6 address needs brackets
  }
  unsigned v = 0;
  auto r = std::from_chars(port.data(), port.data() + port.size(), v);
  if (port.empty() || r.ec != std::errc() || r.ptr != port.data() + port.size() || v == 0 || v > 65535)
    return std::nullopt;
  a.host = std::string(host);
  a.port = static_cast<uint16_t>(v);
  return a;
}

std::span<const KeySpec> upstreams_entry_schema() { return kUpstreamsEntry; }

std::vector<UpstreamConfig> read_upstreams(std::string_view text, const std::string& path, const Config& top,
                                           std::vector<std::string>& errors) {
  std::vector<UpstreamConfig> out;
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(path));
  } catch (const toml::parse_error&) {
    return out;  // read_toml() reported it
  }
  const toml::array* arr = root["upstreams"].as_array();
  if (!arr) return out;
  std::string array_at = toml_where(path, arr->source().begin);
  if (arr->empty()) errors.push_back(array_at + ": upstreams: at least one [[upstreams]] entry is needed");
  // Names already taken: the apps', or the single app's.
  std::map<std::string, std::string> names;
  const bool single_app = top.apps.empty() && !top.app.empty();
  if (single_app) names[kSingleAppName] = "the app";
  for (size_t i = 0; i < top.apps.size(); ++i) names[top.apps[i].name] = "apps[" + std::to_string(i) + "]";
  bool names_ok = true;
  for (size_t i = 0; i < arr->size(); ++i) {
    const toml::table* t = arr->get(i)->as_table();
    if (!t) continue;  // reported by the top-level reader
    const std::string key = "upstreams[" + std::to_string(i) + "]";
    const std::string at = toml_where(path, t->source().begin);
    UpstreamConfig u;
    u.timeout = top.timeout;
    u.boot_timeout = top.boot_timeout;
    u.graceful_timeout = top.graceful_timeout;
    auto where = [&](const auto& n) { return toml_where(path, n.source().begin); };
    auto bad = [&](const toml::node& n, const std::string& k, const std::string& expected) {
      errors.push_back(where(n) + ": " + key + "." + k + ": expected " + expected + ", got " + toml_render(n));
    };
    auto read_string = [&](const toml::node& n, const std::string& k, std::string* dst) {
      if (auto s = n.as_string()) *dst = s->get();
      else bad(n, k, "a string");
    };
    auto read_bool = [&](const toml::node& n, const std::string& k, bool* dst) {
      if (auto b = n.as_boolean()) *dst = b->get();
      else bad(n, k, "true or false");
    };
    auto read_duration = [&](const toml::node& n, const std::string& k, Millis* dst, Millis min) {
      std::optional<Millis> v;
      if (auto x = n.as_integer()) {
        if (x->get() >= 0) v = duration_from_seconds(static_cast<double>(x->get()));
      } else if (auto f = n.as_floating_point()) {
        v = duration_from_seconds(f->get());
      } else if (auto s = n.as_string()) {
        v = parse_duration(s->get());
      }
      if (!v) return bad(n, k, std::string(kDurationExpected));
      if (*v < min) return bad(n, k, "at least " + format_duration(min));
      *dst = *v;
    };
    bool has_servers = false;
    for (auto&& [k, node] : *t) {
      std::string_view name = k.str();
      if (name == "name") {
        if (auto s = node.as_string()) {
          u.name = s->get();
          if (!is_app_name(u.name)) {
            errors.push_back(where(node) + ": " + key + ".name: '" + u.name +
                             "' is not a valid name (1 to 64 of a-z, 0-9, '_' and '-')");
            names_ok = false;
          } else if (auto it = names.find(u.name); it != names.end()) {
            errors.push_back(where(node) + ": " + key + ".name: '" + u.name + "' is already the name of " +
                             it->second);
            names_ok = false;
          } else {
            names[u.name] = key;
          }
        } else {
          bad(node, "name", "a string");
          names_ok = false;
        }
      } else if (name == "hosts") {
        if (auto s = node.as_string()) {
          u.hosts.push_back(s->get());
        } else if (auto l = node.as_array()) {
          for (const auto& h : *l) {
            if (auto hs = h.as_string()) u.hosts.push_back(hs->get());
            else bad(h, "hosts", "a host name");
          }
        } else {
          bad(node, "hosts", "a host name or an array of them");
        }
      } else if (name == "prefix") {
        read_string(node, "prefix", &u.prefix);
      } else if (name == "strip_prefix") {
        read_bool(node, "strip_prefix", &u.strip_prefix);
      } else if (name == "servers") {
        has_servers = true;
        auto l = node.as_array();
        if (!l) {
          bad(node, "servers", "an array of addresses such as [\"127.0.0.1:3000\", \"unix:/run/app.sock\"]");
          continue;
        }
        for (const auto& s : *l) {
          auto str = s.as_string();
          if (!str || !parse_server_address(str->get())) {
            bad(s, "servers", "\"HOST:PORT\", \"[V6]:PORT\" or \"unix:/path\"");
            continue;
          }
          u.servers.push_back(str->get());
        }
        if (l->empty()) bad(node, "servers", "at least one address");
        if (l->size() > 64) bad(node, "servers", "at most 64 addresses");
      } else if (name == "command") {
        read_string(node, "command", &u.command);
        if (node.is_string() && u.command.empty()) bad(node, "command", "a shell command");
      } else if (name == "env") {
        auto et = node.as_table();
        if (!et) {
          bad(node, "env", "a table of strings");
          continue;
        }
        for (auto&& [ek, ev] : *et) {
          if (auto s = ev.as_string()) u.env[std::string(ek.str())] = s->get();
          else bad(ev, "env." + std::string(ek.str()), "a string");
        }
      } else if (name == "chdir") {
        read_string(node, "chdir", &u.chdir);
      } else if (name == "user") {
        read_string(node, "user", &u.user);
      } else if (name == "socket") {
        read_bool(node, "socket", &u.socket);
      } else if (name == "timeout") {
        read_duration(node, "timeout", &u.timeout, Millis(1));
      } else if (name == "connect_timeout") {
        read_duration(node, "connect_timeout", &u.connect_timeout, Millis(1));
      } else if (name == "boot_timeout") {
        read_duration(node, "boot_timeout", &u.boot_timeout, Millis(100));
      } else if (name == "graceful_timeout") {
        read_duration(node, "graceful_timeout", &u.graceful_timeout, Millis(0));
      } else if (name == "health") {
        auto ht = node.as_table();
        if (!ht) {
          bad(node, "health", "a table ([upstreams.health])");
          continue;
        }
        for (auto&& [hk, hv] : *ht) {
          if (hk.str() == "path") {
            read_string(hv, "health.path", &u.health_path);
            if (!u.health_path.empty() && u.health_path.front() != '/') bad(hv, "health.path", "a path starting with /");
          } else if (hk.str() == "interval") {
            read_duration(hv, "health.interval", &u.health_interval, Millis(100));
          } else {
            std::string msg = where(hk) + ": unknown key 'health." + std::string(hk.str()) + "' in an [[upstreams]] block";
            std::string hint = suggest("health." + std::string(hk.str()));
            if (!hint.empty()) msg += " (did you mean '" + hint + "'?)";
            errors.push_back(std::move(msg));
          }
        }
      } else {
        std::string msg = where(k) + ": unknown key '" + std::string(name) + "' in an [[upstreams]] block";
        std::string hint = suggest(name);
        if (!hint.empty()) msg += " (did you mean '" + hint + "'?)";
        errors.push_back(std::move(msg));
      }
    }
    const std::string who = u.name.empty() ? key : "[[upstreams]] " + u.name;
    if (!t->get("name")) {
      errors.push_back(at + ": " + key + ": `name` is required in every [[upstreams]] entry");
      names_ok = false;
    }
    if (has_servers && !u.command.empty()) {
      errors.push_back(at + ": " + who + ": `servers` and `command` cannot both be set: give one");
    } else if (!has_servers && !t->get("command")) {
      errors.push_back(at + ": " + who + ": one of `servers` (addresses to proxy to) or `command` (a server "
                       "hearthd starts) is required");
    }
    if (has_servers) {
      for (const char* k : {"env", "chdir", "user", "socket"}) {
        if (const toml::node* n = t->get(k))
          errors.push_back(where(*n) + ": " + key + "." + k + ": only for a `command` upstream");
      }
    }
    out.push_back(std::move(u));
  }
  if (!names_ok) return out;
  // The routes of every app and upstream, together; what the [[apps]] stage
  // already said about the apps alone is not repeated.
  std::vector<routing::RouteSpec> apps_only;
  if (single_app) apps_only.push_back(routing::RouteSpec{kSingleAppName, {}, "", false});
  for (const auto& a : top.apps) apps_only.push_back(routing::RouteSpec{a.name, a.hosts, a.prefix, false});
  std::vector<routing::RouteSpec> all = apps_only;
  for (const auto& u : out) all.push_back(routing::RouteSpec{u.name, u.hosts, u.prefix, u.strip_prefix});
  auto said = routing::RouteTable::build(std::move(apps_only)).errors;
  const std::set<std::string> seen(said.begin(), said.end());
  for (auto& e : routing::RouteTable::build(std::move(all)).errors) {
    if (!seen.count(e)) errors.push_back(array_at + ": upstreams: " + e);
  }
  return out;
}

}  // namespace hearth::config
