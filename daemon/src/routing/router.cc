// Route table building (validation, indexing) and the per-request lookup.
#include "routing/router.h"

#include <algorithm>
#include <map>
#include <utility>

namespace hearth::routing {
namespace {

constexpr char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c; }

// Three-way comparison of a lower-case key with a host of any case.
int compare_ci(std::string_view key, std::string_view host) noexcept {
  const std::size_t n = std::min(key.size(), host.size());
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char a = static_cast<unsigned char>(key[i]);
    const unsigned char b = static_cast<unsigned char>(lower(host[i]));
    if (a != b) return a < b ? -1 : 1;
  }
  if (key.size() == host.size()) return 0;
  return key.size() < host.size() ? -1 : 1;
}

std::string quoted(std::string_view s) {
  std::string q;
  q.reserve(s.size() + 2);
  q.push_back('"');
  q.append(s);
  q.push_back('"');
  return q;
}

std::string entry_label(const RouteSpec& s, std::size_t i) {
  return s.name.empty() ? "entry #" + std::to_string(i + 1) : "entry " + quoted(s.name);
}

bool host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// Why `host` (a name from the config, trailing dot already dropped, without
// the "*." of a wildcard) is not a host name, or "" when it is one.
std::string host_problem(std::string_view host) {
  if (host.empty()) return "an empty name";
  if (host.front() == '[') {
    if (host.back() != ']' || host.size() < 3) return "an unterminated IPv6 literal";
    for (char c : host.substr(1, host.size() - 2))
      if (!(host_char(c) || c == ':' || c == '.')) return "a character not allowed in an IPv6 literal";
    return "";
  }
  if (host.find(':') != std::string_view::npos) return "a port (hosts match without their port)";
  std::size_t label = 0;
  for (char c : host) {
    if (c == '.') {
      if (label == 0) return "an empty label";
      label = 0;
    } else if (!host_char(c)) {
      return "a character not allowed in a host name";
    } else {
      ++label;
    }
  }
  if (label == 0) return "an empty label";
  return "";
}

// Why `prefix` is not a usable path prefix, or "" when it is one.
std::string prefix_problem(std::string_view prefix) {
  if (prefix.empty()) return "";
  if (prefix.front() != '/') return "does not start with '/'";
  if (prefix.find_first_of("?#%") != std::string_view::npos)
    return "contains '?', '#' or '%' (a prefix is a decoded path, without query or fragment)";
  std::string_view rest = prefix.substr(1);
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);  // one trailing slash is allowed
  if (rest.empty()) return "";
  for (std::size_t start = 0;;) {
    const std::size_t end = rest.find('/', start);
    const std::string_view seg = rest.substr(start, end == std::string_view::npos ? rest.npos : end - start);
    if (seg == "..") return "has a '..' segment";
    if (seg == ".") return "has a '.' segment";
    if (seg.empty()) return "has an empty segment ('//')";
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return "";
}

}  // namespace

std::string_view normalize_host(std::string_view host) noexcept {
  if (!host.empty() && host.front() == '[') {
    const std::size_t close = host.find(']');
    if (close != std::string_view::npos) return host.substr(0, close + 1);
    return host;
  }
  const std::size_t colon = host.find(':');
  if (colon != std::string_view::npos) host = host.substr(0, colon);
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  return host;
}

RouteTable::BuildResult RouteTable::build(std::vector<RouteSpec> specs) {
  BuildResult r;
  RouteTable t;
  std::map<std::string, std::size_t> names;                                   // name -> entry
  std::map<std::pair<std::string, std::string>, std::size_t> routes;           // (host key, prefix) -> entry
  std::map<std::string, std::uint32_t> exact_groups, wildcard_groups;          // host key -> group

  for (std::size_t i = 0; i < specs.size(); ++i) {
    RouteSpec& s = specs[i];
    const std::string who = entry_label(s, i);
    if (s.name.empty()) {
      r.errors.push_back(who + " has no name");
    } else if (auto [it, fresh] = names.emplace(s.name, i); !fresh) {
      r.errors.push_back("duplicate name " + quoted(s.name) + " (entries #" + std::to_string(it->second + 1) +
                         " and #" + std::to_string(i + 1) + ")");
    }

    bool prefix_ok = true;
    if (std::string why = prefix_problem(s.prefix); !why.empty()) {
      r.errors.push_back(who + ": prefix " + quoted(s.prefix) + " " + why);
      prefix_ok = false;
    } else if (!s.prefix.empty() && s.prefix.back() == '/') {
      s.prefix.pop_back();  // "/blog/" -> "/blog", "/" -> ""
    }

    // Each host as its key: "=" + name for an exact host, "*" + suffix for a
    // wildcard, "" for the default group (an entry with no hosts).
    std::vector<std::string> keys;
    for (std::string& h : s.hosts) {
      std::string host;
      for (char c : h) host.push_back(lower(c));
      if (host.size() > 1 && host.back() == '.') host.pop_back();
      h = host;
      if (host.empty()) {
        r.errors.push_back(who + ": empty host");
        continue;
      }
      const bool wildcard = host.find('*') != std::string::npos;
      if (wildcard) {
        const std::string_view rest = std::string_view(host).substr(host.rfind("*.", 0) == 0 ? 2 : 0);
        if (host.rfind("*.", 0) != 0 || rest.find('*') != std::string_view::npos || !host_problem(rest).empty()) {
          r.errors.push_back(who + ": malformed wildcard host " + quoted(h) +
                             " ('*' must be the whole first label, as in \"*.example.com\")");
          continue;
        }
      } else if (std::string why = host_problem(host); !why.empty()) {
        r.errors.push_back(who + ": host " + quoted(h) + " has " + why);
        continue;
      }
      std::string key(1, wildcard ? '*' : '=');
      key.append(std::string_view(host).substr(wildcard ? 2 : 0));
      if (std::find(keys.begin(), keys.end(), key) != keys.end()) {
        r.errors.push_back(who + " lists host " + quoted(h) + " twice");
        continue;
      }
      keys.push_back(std::move(key));
    }
    if (s.hosts.empty()) keys.emplace_back();
    if (!prefix_ok) continue;

    for (const std::string& key : keys) {
      if (auto [it, fresh] = routes.emplace(std::pair{key, s.prefix}, i); !fresh) {
        std::string where = "no host";
        if (!key.empty()) where = "host " + quoted((key[0] == '*' ? "*." : "") + key.substr(1));
        r.errors.push_back("entries " + quoted(specs[it->second].name) + " and " + quoted(s.name) + " both route " +
                           where + " with prefix " + quoted(s.prefix.empty() ? "/" : s.prefix));
        continue;
      }
      std::uint32_t g;
      if (key.empty()) {
        if (!t.default_group_) {
          t.default_group_ = static_cast<std::uint32_t>(t.groups_.size());
          t.groups_.emplace_back();
        }
        g = *t.default_group_;
      } else {
        auto& index = key[0] == '=' ? exact_groups : wildcard_groups;
        auto [it, fresh] = index.emplace(key.substr(1), static_cast<std::uint32_t>(t.groups_.size()));
        if (fresh) t.groups_.emplace_back();
        g = it->second;
      }
      t.groups_[g].push_back(static_cast<std::uint32_t>(i));
    }
  }
  if (!r.errors.empty()) return r;

  t.entries_ = std::move(specs);
  for (Group& g : t.groups_) {
    std::stable_sort(g.begin(), g.end(), [&](std::uint32_t a, std::uint32_t b) {
      return t.entries_[a].prefix.size() > t.entries_[b].prefix.size();
    });
  }
  // std::map iterates in key order: both lists come out sorted.
  for (auto& [host, g] : exact_groups) t.exact_.push_back({host, g});
  for (auto& [suffix, g] : wildcard_groups) t.wildcard_.push_back({suffix, g});
  r.table = std::move(t);
  return r;
}

namespace {

template <typename Keys>
const typename Keys::value_type* find_key(const Keys& keys, std::string_view host) noexcept {
  auto it = std::lower_bound(keys.begin(), keys.end(), host,
                             [](const auto& k, std::string_view h) { return compare_ci(k.host, h) < 0; });
  if (it != keys.end() && compare_ci(it->host, host) == 0) return &*it;
  return nullptr;
}

}  // namespace

const RouteTable::Group* RouteTable::find_exact(std::string_view host) const noexcept {
  const HostKey* k = find_key(exact_, host);
  return k ? &groups_[k->group] : nullptr;
}

const RouteTable::Group* RouteTable::find_wildcard(std::string_view host) const noexcept {
  if (wildcard_.empty()) return nullptr;
  // Label boundaries left to right: the first suffix found is the longest.
  // The dot at 0 would leave an empty first label, which "*" does not match.
  for (std::size_t dot = host.find('.', 1); dot != std::string_view::npos; dot = host.find('.', dot + 1)) {
    if (const HostKey* k = find_key(wildcard_, host.substr(dot + 1))) return &groups_[k->group];
  }
  return nullptr;
}

bool RouteTable::match_in(const Group& g, std::string_view path, RouteMatch& out) const noexcept {
  for (std::uint32_t i : g) {
    const RouteSpec& e = entries_[i];
    const std::string_view p = e.prefix;
    if (!p.empty() && !(path.substr(0, p.size()) == p && (path.size() == p.size() || path[p.size()] == '/'))) continue;
    out.miss = RouteMatch::Miss::None;
    out.entry = &e;
    out.index = i;
    out.script_name = p;
    out.path_info = path.substr(p.size());
    if (!e.strip_prefix) {
      out.forward_path = path;
    } else {
      out.forward_path = out.path_info.empty() ? std::string_view("/") : out.path_info;
    }
    return true;
  }
  return false;
}

RouteMatch RouteTable::lookup(std::string_view host, std::string_view path) const noexcept {
  RouteMatch m;
  const std::string_view h = normalize_host(host);
  const Group* group = nullptr;
  if (!h.empty()) {
    group = find_exact(h);
    if (!group) group = find_wildcard(h);
  }
  if (group && match_in(*group, path, m)) return m;
  if (default_group_ && match_in(groups_[*default_group_], path, m)) return m;
  m.miss = (group || default_group_) ? RouteMatch::Miss::NoPrefix : RouteMatch::Miss::UnknownHost;
  return m;
}

}  // namespace hearth::routing
