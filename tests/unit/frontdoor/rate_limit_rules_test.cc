#include "frontdoor/rate_limit_rules.h"

#include <gtest/gtest.h>

namespace hearth::frontdoor {
namespace {

config::RateLimitRule rule(std::string prefix, std::vector<std::string> methods = {}) {
  config::RateLimitRule r;
  r.prefix = std::move(prefix);
  r.rate = "1/s";
  r.per_second = 1;
  r.methods = std::move(methods);
  return r;
}

TEST(RateLimitRules, LongestPrefixWins) {
  RateLimitRules rules({rule("/"), rule("/api/"), rule("/api/login")});
  EXPECT_EQ(rules.match("/", "GET"), 0);
  EXPECT_EQ(rules.match("/about", "GET"), 0);
  EXPECT_EQ(rules.match("/api/items", "GET"), 1);
  EXPECT_EQ(rules.match("/api/login", "POST"), 2);
  EXPECT_EQ(rules.match("/api/loginx", "POST"), 2);  // a plain string prefix, as nginx's location
}

TEST(RateLimitRules, Methods) {
  RateLimitRules rules({rule("/login", {"POST"}), rule("/api/"), rule("/api/", {"PUT", "DELETE"})});
  EXPECT_EQ(rules.match("/login", "POST"), 0);
  EXPECT_EQ(rules.match("/login", "GET"), -1);
  EXPECT_EQ(rules.match("/api/x", "GET"), 1);
  EXPECT_EQ(rules.match("/api/x", "PUT"), 2);  // same prefix: the rule naming the method
  EXPECT_EQ(rules.match("/other", "GET"), -1);
  EXPECT_EQ(RateLimitRules::label(rules.rule(2)), "/api/ PUT,DELETE");
  EXPECT_EQ(RateLimitRules::label(rules.rule(1)), "/api/");
}

TEST(RateLimitRules, MatchPathDecodes) {
  EXPECT_EQ(match_path("/%6Cogin?next=/"), "/login");
  EXPECT_EQ(match_path("http://h/api/x?y"), "/api/x");
  EXPECT_EQ(match_path("/bad%zz"), "/bad%zz");
}

http::Request req(std::string peer, std::vector<http::Header> headers = {}) {
  http::Request r;
  r.peer_addr = std::move(peer);
  r.headers = std::move(headers);
  return r;
}

TEST(RateLimitRules, ClientIp) {
  std::string err;
  auto lb = *net::IpAllowList::parse({"10.0.0.0/8"}, &err);
  EXPECT_EQ(client_ip(req("203.0.113.1"), lb), "203.0.113.1");
  // X-Forwarded-For only from an allowed peer; its last hop.
  EXPECT_EQ(client_ip(req("203.0.113.1", {{"X-Forwarded-For", "1.1.1.1"}}), lb), "203.0.113.1");
  EXPECT_EQ(client_ip(req("10.1.2.3", {{"x-forwarded-for", "6.6.6.6, 1.1.1.1 "}}), lb), "1.1.1.1");
  EXPECT_EQ(client_ip(req("10.1.2.3"), lb), "10.1.2.3");
  // Unix-socket peers: trusted only with "*".
  EXPECT_EQ(client_ip(req("", {{"X-Forwarded-For", "1.1.1.1"}}), lb), "");
  auto any = *net::IpAllowList::parse({"*"}, &err);
  EXPECT_EQ(client_ip(req("", {{"X-Forwarded-For", "1.1.1.1"}}), any), "1.1.1.1");
}

}  // namespace
}  // namespace hearth::frontdoor
