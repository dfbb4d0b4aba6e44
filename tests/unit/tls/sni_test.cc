#include "tls/sni.h"

#include <gtest/gtest.h>

namespace hearth::tls {
namespace {

SniTable table(const std::vector<std::vector<std::string>>& hosts) {
  std::vector<std::string> errors;
  SniTable t = SniTable::build(hosts, &errors);
  EXPECT_TRUE(errors.empty()) << errors.front();
  return t;
}

TEST(SniTable, ExactNameWinsOverWildcard) {
  auto t = table({{"*.example.com"}, {"api.example.com", "example.org"}});
  EXPECT_EQ(t.lookup("api.example.com"), 1u);
  EXPECT_EQ(t.lookup("www.example.com"), 0u);
  EXPECT_EQ(t.lookup("example.org"), 1u);
}

TEST(SniTable, CaseAndTrailingDotIgnored) {
  auto t = table({{"API.Example.com."}});
  EXPECT_EQ(t.lookup("api.example.COM"), 0u);
  EXPECT_EQ(t.lookup("api.example.com."), 0u);
}

TEST(SniTable, WildcardNeverMatchesItsOwnSuffixAndLongestWins) {
  auto t = table({{"*.example.com"}, {"*.eu.example.com"}});
  EXPECT_EQ(t.lookup("example.com"), std::nullopt);
  EXPECT_EQ(t.lookup("a.b.example.com"), 0u);
  EXPECT_EQ(t.lookup("x.eu.example.com"), 1u);
  EXPECT_EQ(t.lookup("eu.example.com"), 0u);
  EXPECT_EQ(t.lookup("badexample.com"), std::nullopt);  // a label boundary, not a substring
}

TEST(SniTable, UnknownOrMissingNameIsTheDefault) {
  auto t = table({{"a.test"}});
  EXPECT_EQ(t.lookup(""), std::nullopt);
  EXPECT_EQ(t.lookup("b.test"), std::nullopt);
  EXPECT_EQ(t.lookup("a.test\xff"), std::nullopt);
}

TEST(SniTable, BadNamesAreReportedPerEntry) {
  std::vector<std::string> errors;
  SniTable::build({{"ok.test", "a.*.test"}, {}, {"*"}, {"ok.test"}, {"bad host"}}, &errors);
  ASSERT_EQ(errors.size(), 5u);
  EXPECT_NE(errors[0].find("tls.certificates[0].hosts: 'a.*.test'"), std::string::npos) << errors[0];
  EXPECT_NE(errors[1].find("tls.certificates[1].hosts: lists no host"), std::string::npos) << errors[1];
  EXPECT_NE(errors[2].find("tls.certificates[2].hosts: '*'"), std::string::npos) << errors[2];
  EXPECT_NE(errors[3].find("tls.certificates[4].hosts: 'bad host' is not a host name"), std::string::npos) << errors[3];
  EXPECT_NE(errors[4].find("tls.certificates[3].hosts: 'ok.test' is also listed by tls.certificates[0]"),
            std::string::npos)
      << errors[4];
}

}  // namespace
}  // namespace hearth::tls
