#include "app/privileges.h"

#include <gtest/gtest.h>

namespace hearth::app {
namespace {

using Kind = PrivilegePlan::Kind;

AccountLookup fake_accounts() {
  AccountLookup l;
  l.user = [](const std::string& n) -> std::optional<Account> {
    if (n == "root" || n == "0") return Account{0, 0, "root"};
    if (n == "www" || n == "33") return Account{33, 33, "www"};
    if (n == "nobody" || n == "65534") return Account{65534, 65534, "nobody"};
    return std::nullopt;
  };
  l.group = [](const std::string& n) -> std::optional<gid_t> {
    if (n == "nogroup") return 65534;
    if (n == "web") return 1001;
    return std::nullopt;
  };
  return l;
}

config::Config cfg(std::string user = "", std::string group = "", bool allow_root = false) {
  config::Config c;
  c.user = std::move(user);
  c.group = std::move(group);
  c.allow_root = allow_root;
  return c;
}

TEST(Privileges, OrdinaryUserWithoutUserKeyStays) {
  auto p = plan_privileges(1000, 1000, cfg(), fake_accounts());
  EXPECT_EQ(p.kind, Kind::Stay);
  EXPECT_TRUE(p.warning.empty());
}

TEST(Privileges, RootWithoutUserIsRefusedWithTheFix) {
  auto p = plan_privileges(0, 0, cfg(), fake_accounts());
  ASSERT_EQ(p.kind, Kind::Refuse);
  EXPECT_NE(p.error.find("started as root"), std::string::npos) << p.error;
  EXPECT_NE(p.error.find("user = "), std::string::npos) << p.error;
  EXPECT_NE(p.error.find("allow_root = true"), std::string::npos) << p.error;
}

TEST(Privileges, RootWithAllowRootStaysAndWarns) {
  auto p = plan_privileges(0, 0, cfg("", "", true), fake_accounts());
  EXPECT_EQ(p.kind, Kind::Stay);
  EXPECT_FALSE(p.warning.empty());
}

TEST(Privileges, RootWithUserDropsToItsPrimaryGroup) {
  auto p = plan_privileges(0, 0, cfg("www"), fake_accounts());
  ASSERT_EQ(p.kind, Kind::Drop);
  EXPECT_EQ(p.uid, 33u);
  EXPECT_EQ(p.gid, 33u);
  EXPECT_EQ(p.user, "www");
}

TEST(Privileges, GroupOverridesThePrimaryGroup) {
  auto p = plan_privileges(0, 0, cfg("nobody", "web"), fake_accounts());
  ASSERT_EQ(p.kind, Kind::Drop);
  EXPECT_EQ(p.uid, 65534u);
  EXPECT_EQ(p.gid, 1001u);
}

TEST(Privileges, NumericUserIsResolvedToo) {
  auto p = plan_privileges(0, 0, cfg("65534"), fake_accounts());
  ASSERT_EQ(p.kind, Kind::Drop);
  EXPECT_EQ(p.uid, 65534u);
}

TEST(Privileges, UnknownUserOrGroupIsRefusedByName) {
  auto p = plan_privileges(0, 0, cfg("ghost"), fake_accounts());
  ASSERT_EQ(p.kind, Kind::Refuse);
  EXPECT_NE(p.error.find("'ghost'"), std::string::npos);
  p = plan_privileges(0, 0, cfg("www", "ghosts"), fake_accounts());
  ASSERT_EQ(p.kind, Kind::Refuse);
  EXPECT_NE(p.error.find("'ghosts'"), std::string::npos);
}

TEST(Privileges, UserRootNeedsAllowRoot) {
  auto p = plan_privileges(0, 0, cfg("root"), fake_accounts());
  ASSERT_EQ(p.kind, Kind::Refuse);
  EXPECT_NE(p.error.find("allow_root"), std::string::npos);
  p = plan_privileges(0, 0, cfg("root", "", true), fake_accounts());
  EXPECT_EQ(p.kind, Kind::Stay);
  EXPECT_FALSE(p.warning.empty());
}

TEST(Privileges, GroupWithoutUserIsRefused) {
  auto p = plan_privileges(0, 0, cfg("", "web", true), fake_accounts());
  ASSERT_EQ(p.kind, Kind::Refuse);
  EXPECT_NE(p.error.find("`group` needs `user`"), std::string::npos);
}

TEST(Privileges, NonRootMayNameOnlyItself) {
  EXPECT_EQ(plan_privileges(33, 33, cfg("www"), fake_accounts()).kind, Kind::Stay);
  auto p = plan_privileges(1000, 1000, cfg("www"), fake_accounts());
  ASSERT_EQ(p.kind, Kind::Refuse);
  EXPECT_NE(p.error.find("started as root"), std::string::npos) << p.error;
  EXPECT_EQ(plan_privileges(33, 33, cfg("www", "web"), fake_accounts()).kind, Kind::Refuse);
}

TEST(Privileges, DropOfAStayPlanDoesNothing) {
  EXPECT_EQ(drop_privileges(PrivilegePlan{}), "");
}

}  // namespace
}  // namespace hearth::app
