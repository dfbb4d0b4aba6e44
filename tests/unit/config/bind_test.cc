#include "config/bind.h"

#include <gtest/gtest.h>

namespace hearth::config {
namespace {

Bind must(std::string_view text) {
  auto b = parse_bind(text);
  EXPECT_TRUE(b.has_value()) << text;
  return b.value_or(Bind{});
}

TEST(ParseBind, HostAndPort) {
  Bind b = must("127.0.0.1:8000");
  EXPECT_EQ(b.kind, Bind::Kind::Tcp);
  EXPECT_EQ(b.host, "127.0.0.1");
  EXPECT_EQ(b.port, 8000);
  EXPECT_EQ(b.text, "127.0.0.1:8000");
}

TEST(ParseBind, Ipv6InBrackets) {
  Bind b = must("[::1]:9000");
  EXPECT_EQ(b.host, "::1");
  EXPECT_EQ(b.port, 9000);
  EXPECT_EQ(to_string(b), "[::1]:9000");
  EXPECT_EQ(must("[::]:80").host, "::");
}

TEST(ParseBind, PortOnlyMeansAllInterfaces) {
  Bind a = must(":8080");
  EXPECT_EQ(a.host, "0.0.0.0");
  EXPECT_EQ(a.port, 8080);
  EXPECT_EQ(a.text, ":8080");
  Bind b = must("8080");
  EXPECT_EQ(b.host, "0.0.0.0");
  EXPECT_EQ(b.port, 8080);
}

TEST(ParseBind, LocalhostAndHostOnly) {
  Bind a = must("localhost:5000");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.text, "localhost:5000");
  Bind b = must("10.1.2.3");
  EXPECT_EQ(b.host, "10.1.2.3");
  EXPECT_EQ(b.port, 8000);
}

TEST(ParseBind, PortRange) {
  EXPECT_EQ(must("127.0.0.1:0").port, 0);
  EXPECT_EQ(must("127.0.0.1:65535").port, 65535);
  EXPECT_FALSE(parse_bind("127.0.0.1:65536"));
  EXPECT_FALSE(parse_bind("127.0.0.1:-1"));
  EXPECT_FALSE(parse_bind("127.0.0.1:"));
  EXPECT_FALSE(parse_bind("127.0.0.1:80x"));
  EXPECT_FALSE(parse_bind("99999"));
}

TEST(ParseBind, Unix) {
  Bind b = must("unix:/run/hearth/app.sock");
  EXPECT_EQ(b.kind, Bind::Kind::Unix);
  EXPECT_EQ(b.path, "/run/hearth/app.sock");
  EXPECT_EQ(to_string(b), "unix:/run/hearth/app.sock");
  EXPECT_FALSE(parse_bind("unix:"));
  EXPECT_FALSE(parse_bind("unix:/" + std::string(200, 'x')));
}

TEST(ParseBind, Rejects) {
  for (const char* bad : {"", "::1:8000", "::1", "[::1]", "[::1]8000", "[nope]:80", "[::1:80",
                          "example.com:80", "1.2.3:80", "256.0.0.1:80", "a:b:c", " :80"}) {
    EXPECT_FALSE(parse_bind(bad)) << "'" << bad << "'";
  }
}

TEST(BindsConflict, SameAddressWildcardAndUnix) {
  EXPECT_TRUE(binds_conflict(must("127.0.0.1:80"), must("localhost:80")));
  EXPECT_TRUE(binds_conflict(must(":80"), must("127.0.0.1:80")));
  EXPECT_TRUE(binds_conflict(must("[::]:80"), must("[::1]:80")));
  EXPECT_TRUE(binds_conflict(must("[::1]:80"), must("[0:0::1]:80")));
  EXPECT_TRUE(binds_conflict(must("unix:/a"), must("unix:/a")));
  EXPECT_FALSE(binds_conflict(must("unix:/a"), must("unix:/b")));
  EXPECT_FALSE(binds_conflict(must("127.0.0.1:80"), must("127.0.0.1:81")));
  EXPECT_FALSE(binds_conflict(must("127.0.0.1:80"), must("127.0.0.2:80")));
  EXPECT_FALSE(binds_conflict(must("127.0.0.1:0"), must("127.0.0.1:0")));
  EXPECT_FALSE(binds_conflict(must("0.0.0.0:80"), must("[::]:80")));
}

TEST(AllowIps, ListsAndEntries) {
  auto a = parse_allow_ips("127.0.0.1, ::1,10.0.0.0/8");
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, (std::vector<std::string>{"127.0.0.1", "::1", "10.0.0.0/8"}));
  EXPECT_EQ(parse_allow_ips("*"), (std::vector<std::string>{"*"}));
  EXPECT_TRUE(is_allow_ip_entry("fd00::/8"));
  EXPECT_FALSE(is_allow_ip_entry("10.0.0.0/33"));
  EXPECT_FALSE(is_allow_ip_entry("example.com"));
  EXPECT_FALSE(parse_allow_ips(""));
  EXPECT_FALSE(parse_allow_ips("127.0.0.1,"));
  EXPECT_FALSE(parse_allow_ips("127.0.0.1;10.0.0.1"));
}

}  // namespace
}  // namespace hearth::config

namespace hearth::config {
namespace {

TEST(Bind, LoopbackIsOnlyThisHost) {
  auto lb = [](const char* t) { return is_loopback(*parse_bind(t)); };
  EXPECT_TRUE(lb("127.0.0.1:9100"));
  EXPECT_TRUE(lb("127.1.2.3:9100"));
  EXPECT_TRUE(lb("localhost:9100"));
  EXPECT_TRUE(lb("[::1]:9100"));
  EXPECT_TRUE(lb("unix:/run/hearth-admin.sock"));
  EXPECT_FALSE(lb(":9100"));
  EXPECT_FALSE(lb("0.0.0.0:9100"));
  EXPECT_FALSE(lb("[::]:9100"));
  EXPECT_FALSE(lb("10.0.0.5:9100"));
}

}  // namespace
}  // namespace hearth::config
