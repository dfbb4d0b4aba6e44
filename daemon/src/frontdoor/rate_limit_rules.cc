#include "frontdoor/rate_limit_rules.h"

#include <algorithm>
#include <cctype>

#include "http/request_checks.h"
#include "static/url_path.h"

namespace hearth::frontdoor {
namespace {

using http::iequals;
constexpr auto trim = http::trim_ows;

}  // namespace

RateLimitRules::RateLimitRules(std::vector<config::RateLimitRule> rules) : rules_(std::move(rules)) {}

int RateLimitRules::match(std::string_view path, std::string_view method) const {
  int best = -1;
  std::size_t best_len = 0;
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    const auto& r = rules_[i];
    if (path.substr(0, r.prefix.size()) != r.prefix) continue;
    if (!r.methods.empty() && std::find(r.methods.begin(), r.methods.end(), method) == r.methods.end()) continue;
    // Longest prefix; among equal prefixes, a rule naming the method beats one for all methods.
    std::size_t len = r.prefix.size() * 2 + (r.methods.empty() ? 0 : 1);
    if (best < 0 || len > best_len) {
      best = static_cast<int>(i);
      best_len = len;
    }
  }
  return best;
}

std::string RateLimitRules::label(const config::RateLimitRule& r) {
  std::string out = r.prefix;
  for (std::size_t i = 0; i < r.methods.size(); ++i) out += (i ? "," : " ") + r.methods[i];
  return out;
}

std::string match_path(std::string_view target) {
  std::string_view path = statics::target_path(target);
  auto decoded = statics::percent_decode(path);
  return decoded ? std::move(*decoded) : std::string(path);
}

std::string client_ip(const http::Request& req, const net::IpAllowList& forwarded) {
  bool trusted = req.peer_addr.empty() ? forwarded.allows_all() : forwarded.allows(req.peer_addr);
  if (trusted) {
    std::string_view xff;
    for (const auto& h : req.headers) {
      if (iequals(h.name, "X-Forwarded-For")) xff = h.value;  // the last one, as the environ joins them
    }
    if (!xff.empty()) {
      std::string_view last = xff;
      if (auto c = last.rfind(','); c != std::string_view::npos) last = last.substr(c + 1);
      last = trim(last);
      if (!last.empty()) return std::string(last);
    }
  }
  return req.peer_addr;
}

}  // namespace hearth::frontdoor
