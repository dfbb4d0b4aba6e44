#include "net/ip_allow_list.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

namespace hearth::net {
namespace {

IpAllowList make(std::vector<std::string> e) {
  std::string err;
  auto l = IpAllowList::parse(e, &err);
  EXPECT_TRUE(l) << err;
  return l ? *l : IpAllowList();
}

TEST(IpAllowList, ExactAndCidr) {
  auto l = make({"127.0.0.1", "10.0.0.0/8", "2001:db8::/32", "192.168.1.128/25"});
  EXPECT_TRUE(l.allows("127.0.0.1"));
  EXPECT_FALSE(l.allows("127.0.0.2"));
  EXPECT_TRUE(l.allows("10.255.1.2"));
  EXPECT_FALSE(l.allows("11.0.0.1"));
  EXPECT_TRUE(l.allows("2001:db8:ffff::1"));
  EXPECT_FALSE(l.allows("2001:db9::1"));
  EXPECT_TRUE(l.allows("192.168.1.200"));
  EXPECT_FALSE(l.allows("192.168.1.100"));
  EXPECT_TRUE(l.allows("::ffff:10.1.1.1"));  // a dual-stack listener's IPv4 client
  EXPECT_FALSE(l.allows("not an address"));
  EXPECT_FALSE(l.allows(""));
}

TEST(IpAllowList, Sockaddr) {
  auto l = make({"127.0.0.1"});
  sockaddr_in in{};
  in.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
  EXPECT_TRUE(l.allows(reinterpret_cast<sockaddr*>(&in)));
  inet_pton(AF_INET, "127.0.0.9", &in.sin_addr);
  EXPECT_FALSE(l.allows(reinterpret_cast<sockaddr*>(&in)));
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  inet_pton(AF_INET6, "::ffff:127.0.0.1", &in6.sin6_addr);
  EXPECT_TRUE(l.allows(reinterpret_cast<sockaddr*>(&in6)));
  inet_pton(AF_INET6, "::1", &in6.sin6_addr);
  EXPECT_FALSE(l.allows(reinterpret_cast<sockaddr*>(&in6)));
}

TEST(IpAllowList, StarAndEmpty) {
  EXPECT_TRUE(make({"*"}).allows("203.0.113.9"));
  EXPECT_FALSE(make({}).allows("127.0.0.1"));
  auto z = make({"0.0.0.0/0"});
  EXPECT_TRUE(z.allows("8.8.8.8"));
  EXPECT_FALSE(z.allows("::1"));
}

TEST(IpAllowList, RejectsBadEntries) {
  std::string err;
  EXPECT_FALSE(IpAllowList::parse({"10.0.0.0/33"}, &err));
  EXPECT_NE(err.find("over 32"), std::string::npos) << err;
  EXPECT_FALSE(IpAllowList::parse({"lb.example.com"}, &err));
  EXPECT_NE(err.find("lb.example.com"), std::string::npos) << err;
  EXPECT_FALSE(IpAllowList::parse({"10.0.0.0/"}, &err));
}

}  // namespace
}  // namespace hearth::net
