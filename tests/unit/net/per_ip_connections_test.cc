#include "net/per_ip_connections.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

namespace hearth::net {
namespace {

TEST(PerIpConnections, CapsEachAddressAndGivesBackOnRelease) {
  auto c = std::make_shared<PerIpConnections>(2);
  auto a1 = c->acquire("1.1.1.1");
  auto a2 = c->acquire("1.1.1.1");
  ASSERT_TRUE(a1 && a2);
  EXPECT_FALSE(c->acquire("1.1.1.1"));
  EXPECT_EQ(c->refused(), 1u);
  auto b = c->acquire("2.2.2.2");
  EXPECT_TRUE(b);
  EXPECT_EQ(c->open("1.1.1.1"), 2u);
  a1.reset();
  EXPECT_EQ(c->open("1.1.1.1"), 1u);
  EXPECT_TRUE(c->acquire("1.1.1.1"));  // taken and given back at once
  a2.reset();
  b.reset();
  EXPECT_EQ(c->addresses(), 0u);  // no entry kept for addresses with no connection
}

TEST(PerIpConnections, SlotOutlivesNothing) {
  std::unique_ptr<PerIpConnections::Slot> s;
  {
    auto c = std::make_shared<PerIpConnections>(1);
    s = c->acquire("::1");
  }
  s.reset();  // the counter is kept alive by the slot
}

TEST(PerIpConnections, IpText) {
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  inet_pton(AF_INET6, "::ffff:192.0.2.1", &in6.sin6_addr);
  EXPECT_EQ(ip_text(reinterpret_cast<sockaddr*>(&in6)), "192.0.2.1");
  inet_pton(AF_INET6, "2001:db8::5", &in6.sin6_addr);
  EXPECT_EQ(ip_text(reinterpret_cast<sockaddr*>(&in6)), "2001:db8::5");
  sockaddr un{};
  un.sa_family = AF_UNIX;
  EXPECT_EQ(ip_text(&un), "");
}

}  // namespace
}  // namespace hearth::net
