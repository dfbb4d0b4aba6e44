// keepwarm.url parsing.
#include <gtest/gtest.h>

#include "health/public_pinger.h"

namespace hearth::health {
namespace {

TEST(ParseUrl, HttpsWithDefaultPortAndRootTarget) {
  auto u = parse_url("https://myapp.onrender.com");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->https);
  EXPECT_EQ(u->host, "myapp.onrender.com");
  EXPECT_EQ(u->port, "443");
  EXPECT_EQ(u->target, "/");
}

TEST(ParseUrl, HttpWithPortPathAndQuery) {
  auto u = parse_url("http://127.0.0.1:8080/healthz?from=keepwarm");
  ASSERT_TRUE(u);
  EXPECT_FALSE(u->https);
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, "8080");
  EXPECT_EQ(u->target, "/healthz?from=keepwarm");
}

TEST(ParseUrl, HttpDefaultPort) {
  auto u = parse_url("http://example.com/");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->port, "80");
  EXPECT_EQ(u->target, "/");
}

TEST(ParseUrl, QueryWithoutPathGetsASlash) {
  auto u = parse_url("http://example.com?x=1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "example.com");
  EXPECT_EQ(u->target, "/?x=1");
}

TEST(ParseUrl, BracketedIpv6) {
  auto u = parse_url("http://[::1]:9000/p");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, "9000");
  EXPECT_EQ(u->target, "/p");
  auto v = parse_url("https://[2001:db8::1]/");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->host, "2001:db8::1");
  EXPECT_EQ(v->port, "443");
}

TEST(ParseUrl, Rejects) {
  EXPECT_FALSE(parse_url(""));
  EXPECT_FALSE(parse_url("ftp://example.com/"));
  EXPECT_FALSE(parse_url("example.com"));
  EXPECT_FALSE(parse_url("http://"));                   // no host
  EXPECT_FALSE(parse_url("http:///path"));              // empty authority
  EXPECT_FALSE(parse_url("http://:8080/"));             // empty host
  EXPECT_FALSE(parse_url("http://user:pw@example.com/"));  // credentials are not sent
  EXPECT_FALSE(parse_url("http://example.com:80a/"));   // non-numeric port
  EXPECT_FALSE(parse_url("http://[::1/"));              // unclosed bracket
  EXPECT_FALSE(parse_url("http://[::1]x/"));            // junk after the bracket
}

}  // namespace
}  // namespace hearth::health
