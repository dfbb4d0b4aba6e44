#pragma once
// Which certificate answers a TLS ClientHello's server name (SNI), from the
// `hosts` of each `[[tls.certificates]]` entry (issue 19). Pure: no OpenSSL,
// no I/O; built once per certificate (re)load and immutable afterwards.
//
// Rules, the same as the router's host groups (routing/router.h):
//  * names compare ASCII case-insensitively, one trailing dot ignored;
//  * an exact name wins;
//  * else the longest wildcard `*.example.com` whose suffix ends the name on
//    a label boundary (`a.example.com`, `x.y.example.com`; never
//    `example.com` itself);
//  * else no entry: the top-level certificate (`tls.certfile`) answers, as it
//    does for a client that sends no server name.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::tls {

class SniTable {
 public:
  // hosts[i] are entry i's names. Errors (an empty name, a malformed wildcard
  // such as "a.*.com" or "*", a name listed twice) come back one per line,
  // naming the entry ("tls.certificates[1].hosts: ..."); the table is then
  // unusable.
  static SniTable build(const std::vector<std::vector<std::string>>& hosts, std::vector<std::string>* errors);

  // The entry whose certificate answers `server_name`; nullopt: the default.
  std::optional<std::size_t> lookup(std::string_view server_name) const;

  bool empty() const { return exact_.empty() && wildcard_.empty(); }

 private:
  struct Name {
    std::string name;  // lowercased; for a wildcard the suffix with its dot: ".example.com"
    std::size_t entry = 0;
  };
  std::vector<Name> exact_;     // sorted by name
  std::vector<Name> wildcard_;  // longest suffix first
};

// Lowercased, without one trailing dot; "" for a name that cannot be a host
// (contains a character outside [a-z0-9.-_*]).
std::string normalize_server_name(std::string_view name);

}  // namespace hearth::tls
