#pragma once
// Which [[rate_limit]] rule a request falls under, and whose bucket it takes
// from. Pure functions of the request; no state, no I/O.
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "http/request.h"
#include "net/ip_allow_list.h"

namespace hearth::frontdoor {

class RateLimitRules {
 public:
  explicit RateLimitRules(std::vector<config::RateLimitRule> rules);

  // The rule for a request: among the rules whose prefix starts `path` (the
  // decoded path) and whose methods include `method` (or that list none), the
  // one with the longest prefix; -1 for none.
  int match(std::string_view path, std::string_view method) const;

  const config::RateLimitRule& rule(int i) const { return rules_[static_cast<std::size_t>(i)]; }
  std::size_t size() const { return rules_.size(); }

  // The metric label of a rule: its prefix, with its methods when it lists some ("/login POST").
  static std::string label(const config::RateLimitRule& r);

 private:
  std::vector<config::RateLimitRule> rules_;
};

// The decoded path of a request-target for matching: "/a%2Fb?x" -> "/a/b".
// A target that does not decode (a bad escape) is matched as sent.
std::string match_path(std::string_view target);

// key = "client_ip": the request's peer address (the PROXY protocol's when
// present), or the last X-Forwarded-For hop when the peer is one of
// `forwarded` (a Unix-socket peer counts as allowed only with "*"), as the
// app's REMOTE_ADDR is chosen.
std::string client_ip(const http::Request& req, const net::IpAllowList& forwarded);

}  // namespace hearth::frontdoor
