#include "tls/redirect_handler.h"

#include <gtest/gtest.h>

namespace hearth::tls {
namespace {

TEST(HttpsLocation, KeepsHostAndPathDropsPlainPort) {
  EXPECT_EQ(https_location("example.com", "/a/b?c=1", 443), "https://example.com/a/b?c=1");
  EXPECT_EQ(https_location("example.com:80", "/", 443), "https://example.com/");
  EXPECT_EQ(https_location("example.com:8080", "/x", 8443), "https://example.com:8443/x");
  EXPECT_EQ(https_location("127.0.0.1:1", "/x", 443), "https://127.0.0.1/x");
}

TEST(HttpsLocation, Ipv6LiteralsKeepTheirBrackets) {
  EXPECT_EQ(https_location("[::1]:8080", "/p", 8443), "https://[::1]:8443/p");
  EXPECT_EQ(https_location("[2001:db8::1]", "/", 443), "https://[2001:db8::1]/");
  EXPECT_FALSE(https_location("[::1", "/", 443));
  EXPECT_FALSE(https_location("[zz::1]", "/", 443));
  EXPECT_FALSE(https_location("[::1]x", "/", 443));
}

TEST(HttpsLocation, TargetsThatAreNotAPath) {
  EXPECT_EQ(https_location("h", "http://other.example/p?q", 443), "https://h/p?q");  // absolute-form: its path
  EXPECT_EQ(https_location("h", "http://other.example", 443), "https://h/");
  EXPECT_EQ(https_location("h", "*", 443), "https://h/");
  EXPECT_EQ(https_location("h", "", 443), "https://h/");
  // A path that looks like a network path stays a path on our host.
  EXPECT_EQ(https_location("h", "//evil.example/x", 443), "https://h//evil.example/x");
}

TEST(HttpsLocation, BadHostsAreRefused) {
  EXPECT_FALSE(https_location("", "/", 443));
  EXPECT_FALSE(https_location(":80", "/", 443));
  EXPECT_FALSE(https_location("a b", "/", 443));
  EXPECT_FALSE(https_location("evil.example/x", "/", 443));
  EXPECT_FALSE(https_location("user@evil.example", "/", 443));
  EXPECT_FALSE(https_location("h:80x", "/", 443));
  EXPECT_FALSE(https_location(std::string(300, 'a'), "/", 443));
}

}  // namespace
}  // namespace hearth::tls
