#include "app/upgrade.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace hearth::app {
namespace {

bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

TEST(UpgradeEnvironment, ReplacesHandOverVariables) {
  std::vector<std::string> env{"PATH=/usr/bin", "LISTEN_PID=5", "LISTEN_FDS=9", "WATCHDOG_PID=5",
                               "WATCHDOG_USEC=30000000", "NOTIFY_SOCKET=/run/systemd/notify", "HEARTH_UPGRADE_FD=8"};
  auto out = upgrade_environment(env, {{10, "http"}, {11, "admin"}, {12, "control"}}, 77);
  EXPECT_TRUE(has(out, "PATH=/usr/bin"));
  EXPECT_TRUE(has(out, "NOTIFY_SOCKET=/run/systemd/notify"));  // the new one talks to systemd too
  EXPECT_TRUE(has(out, "WATCHDOG_USEC=30000000"));
  EXPECT_FALSE(has(out, "WATCHDOG_PID=5"));  // it would name the old pid
  EXPECT_FALSE(has(out, "LISTEN_PID=5"));
  EXPECT_FALSE(has(out, "LISTEN_FDS=9"));
  EXPECT_TRUE(has(out, "LISTEN_FDS=3"));
  EXPECT_TRUE(has(out, "LISTEN_FDNAMES=http:admin:control"));
  EXPECT_TRUE(has(out, "HEARTH_UPGRADE_FROM=77"));
  EXPECT_TRUE(has(out, "HEARTH_UPGRADE_FD=6"));
  EXPECT_FALSE(has(out, "HEARTH_UPGRADE_FD=8"));
}

TEST(SelfExe, IsAnAbsolutePath) {
  std::string p = self_exe_path();
  ASSERT_FALSE(p.empty());
  EXPECT_EQ(p[0], '/');
  EXPECT_EQ(p.find(" (deleted)"), std::string::npos);
  auto argv = self_argv();
  ASSERT_FALSE(argv.empty());
}

}  // namespace
}  // namespace hearth::app
