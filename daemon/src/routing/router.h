#pragma once
// The request router for several apps and upstreams (issue 19): which entry
// (an `[[apps]]` or `[[upstreams]]` block, by name) serves a request, chosen
// from its Host and path the way nginx `server` / `location` blocks are. Pure:
// no I/O, no config parsing (that and the wiring into the daemon come next);
// built once per config snapshot, immutable afterwards, so any number of
// threads may call lookup() on one table.
//
// Rules (docs/several-apps.md, "Routing rules"):
//  1. Host group. The Host is normalised: ASCII case ignored, a ":port"
//     dropped ("[::1]:8080" -> "[::1]"), one trailing dot dropped. Then:
//     an exact host ("api.example.com"); else the wildcard hosts
//     ("*.example.com" matches any deeper name ending in ".example.com",
//     "a.example.com" and "x.y.example.com", never "example.com" itself),
//     the longest suffix winning; else the default group, the entries that
//     list no hosts. A missing or empty Host (HTTP/1.0) goes to the default.
//  2. Prefix. Within the group, the longest prefix that matches the path on a
//     segment boundary: "/blog" matches "/blog", "/blog/" and "/blog/x",
//     never "/blogger". The prefix "" (or "/", the same) matches every path.
//     Paths compare case-sensitively, byte for byte.
//  3. Fallback. When a host group (exact or wildcard) has no matching prefix,
//     the default group is tried next (the wildcard groups are not: the
//     chosen host group is the only host group consulted). nginx does NOT do
//     this: it picks one `server` by Host and answers 404 when none of its
//     `location`s match, never looking at the default server. We chose the
//     fallback because an entry with no hosts reads as "everything else",
//     and a site that mounts `/api` on its own host should still reach the
//     catch-all app for the rest, without repeating the hosts on it.
//  An entry with neither hosts nor a prefix is the default (prefix "" in the
//  default group). A table may have no default: lookup() then misses.
//
// The path passed to lookup() is the percent-decoded path without the query
// (what PATH_INFO carries today, proxy/environ.cc). The result splits it as
// PEP 3333 mounting expects: SCRIPT_NAME = the matched prefix without a
// trailing slash ("" for the prefix "/"), PATH_INFO = the rest, starting
// with '/', or "" when the path equals the prefix. For an upstream with
// strip_prefix, forward_path is PATH_INFO ("/" when that is empty);
// otherwise it is the whole path.
//
// A miss: the caller answers 421 Misdirected Request when the request named
// a Host that no group serves (Miss::UnknownHost with a Host present: RFC
// 9110 15.5.20, the server is not configured for that authority), and 404
// Not Found otherwise (Miss::NoPrefix, or no Host at all and no default).
//
// Cost of lookup(): no allocation, no exceptions. With E exact hosts, W
// wildcard suffixes, a Host of length L with D dots, and P prefixes in the
// groups tried: O(L log E) for the exact host (binary search, comparing
// case-insensitively in place), O(D * L log W) for the wildcards (one binary
// search per label boundary, the longest suffix first, stopping at the first
// hit), and O(P * |prefix|) for the prefixes (each group's prefixes are kept
// longest first; the first match wins). Building is O(N log N) in the number
// of (host, entry) pairs and reports every error at once.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::routing {

// One routable entry as the config will give it.
struct RouteSpec {
  std::string name;                // the app / upstream, unique
  std::vector<std::string> hosts;  // "api.example.com", "*.example.com"; empty = no host (default group)
  std::string prefix;              // "/blog", "/blog/"; "" or "/" = any path
  bool strip_prefix = false;       // upstreams: forward PATH_INFO instead of the whole path
};

// "Example.COM.:8080" -> "Example.COM" (case is left alone; the table
// compares case-insensitively). "[::1]:80" -> "[::1]". A view into `host`.
std::string_view normalize_host(std::string_view host) noexcept;

struct RouteMatch {
  enum class Miss {
    None,         // routed: entry is set
    UnknownHost,  // the Host names no group and there is no default group
    NoPrefix,     // a group was chosen but no prefix in it (nor in the default group) matched the path
  };
  Miss miss = Miss::None;
  const RouteSpec* entry = nullptr;  // into the table; valid while it lives
  std::uint32_t index = 0;           // the entry's position in the specs given to build()
  std::string_view script_name;      // the matched prefix, no trailing slash (into the table)
  std::string_view path_info;        // the rest of the path (into the caller's path)
  std::string_view forward_path;     // for upstreams: path_info or "/" with strip_prefix, else the path

  bool found() const noexcept { return entry != nullptr; }
};

class RouteTable {
 public:
  struct BuildResult;

  // Validates and indexes `specs`; every problem is reported (never thrown),
  // each message naming the entries involved. The table is set only when
  // there are no errors. Entries keep their order (RouteMatch::index).
  [[nodiscard]] static BuildResult build(std::vector<RouteSpec> specs);

  // See the header comment. `host` is the raw Host header value ("" when
  // absent), `path` the decoded path. Views in the result point into the
  // table and into `path`.
  [[nodiscard]] RouteMatch lookup(std::string_view host, std::string_view path) const noexcept;

  const std::vector<RouteSpec>& entries() const noexcept { return entries_; }

 private:
  // The entries of one host (or of the default group), longest prefix first.
  using Group = std::vector<std::uint32_t>;
  struct HostKey {
    std::string host;  // lower case; for a wildcard the suffix after "*." ("example.com")
    std::uint32_t group;
  };

  const Group* find_exact(std::string_view host) const noexcept;
  const Group* find_wildcard(std::string_view host) const noexcept;
  bool match_in(const Group& g, std::string_view path, RouteMatch& out) const noexcept;

  std::vector<RouteSpec> entries_;  // normalised: hosts lower case, prefix without trailing '/'
  std::vector<Group> groups_;
  std::vector<HostKey> exact_;      // sorted by host
  std::vector<HostKey> wildcard_;   // sorted by suffix
  std::optional<std::uint32_t> default_group_;
};

struct RouteTable::BuildResult {
  std::optional<RouteTable> table;  // set when errors is empty
  std::vector<std::string> errors;
};

}  // namespace hearth::routing
