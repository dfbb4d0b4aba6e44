// hearthd's own request ids (proxy/request_ids.h).
#include "proxy/request_ids.h"

#include <gtest/gtest.h>

#include <regex>

namespace hearth::proxy {
namespace {

TEST(RequestIds, PrefixThenTagThenTheCounterInHex) {
  RequestIds plain;
  RequestIds tagged("s");
  const std::string a = plain.make(0x1f);
  EXPECT_TRUE(std::regex_match(a, std::regex("[0-9a-f]{8}-1f"))) << a;
  const std::string b = tagged.make(UINT64_MAX);
  EXPECT_TRUE(std::regex_match(b, std::regex("[0-9a-f]{8}-sffffffffffffffff"))) << b;
  EXPECT_EQ(plain.make(1).substr(0, 9), a.substr(0, 9));  // one prefix per generator
  EXPECT_NE(plain.make(1), plain.make(2));
}

}  // namespace
}  // namespace hearth::proxy
