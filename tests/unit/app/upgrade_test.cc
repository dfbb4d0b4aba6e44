#include "app/upgrade.h"

#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <optional>

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

namespace hearth::app {
namespace {

// BinaryUpgrade with real (tiny) child processes standing in for the new hearthd:
// the ready pipe is fd 3 when no sockets are handed over.
struct UpgradeRun {
  boost::asio::io_context io;
  supervisor::PosixSpawner spawner{io};
  supervisor::Reaper reaper{io, false};
  BinaryUpgrade up{io, spawner, reaper};
  std::optional<BinaryUpgrade::Result> result;

  std::string start(const std::string& script, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    return up.start({"/bin/sh", "-c", script}, {}, timeout, [this](const BinaryUpgrade::Result& r) { result = r; });
  }
  void run_until_done() {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (!result && std::chrono::steady_clock::now() < deadline) io.run_for(std::chrono::milliseconds(20));
  }
};

TEST(BinaryUpgrade, ReadyOnThePipeIsSuccess) {
  UpgradeRun t;
  ASSERT_EQ(t.start("test \"$HEARTH_UPGRADE_FD\" = 3 && test \"$HEARTH_UPGRADE_FROM\" = \"$PPID\" && "
                    "test \"$LISTEN_FDS\" = 0 && printf 'READY\\n' >&3 && exec sleep 0.2"),
            "");
  EXPECT_EQ(t.up.state(), BinaryUpgrade::State::Starting);
  t.run_until_done();
  ASSERT_TRUE(t.result);
  EXPECT_TRUE(t.result->ok) << t.result->message;
  EXPECT_GT(t.result->new_pid, 0);
  EXPECT_EQ(t.up.state(), BinaryUpgrade::State::Idle);
  // Let the child finish and be reaped.
  t.io.run_for(std::chrono::milliseconds(400));
}

TEST(BinaryUpgrade, ExitBeforeReadyIsAFailureWithTheStatus) {
  UpgradeRun t;
  ASSERT_EQ(t.start("exit 2"), "");
  t.run_until_done();
  ASSERT_TRUE(t.result);
  EXPECT_FALSE(t.result->ok);
  EXPECT_NE(t.result->message.find("exited before it was ready"), std::string::npos) << t.result->message;
  EXPECT_NE(t.result->message.find("exit 2"), std::string::npos) << t.result->message;
  EXPECT_EQ(t.start("exit 0"), "");  // Idle again: another upgrade may start
  t.run_until_done();
}

TEST(BinaryUpgrade, NotReadyInTimeIsStopped) {
  UpgradeRun t;
  ASSERT_EQ(t.start("exec sleep 30", std::chrono::milliseconds(200)), "");
  EXPECT_NE(t.start("true"), "");  // one at a time
  t.run_until_done();
  ASSERT_TRUE(t.result);
  EXPECT_FALSE(t.result->ok);
  EXPECT_NE(t.result->message.find("was not ready within 200 ms"), std::string::npos) << t.result->message;
  // It got SIGTERM, and the reaper collected it: the pid is gone.
  pid_t pid = t.result->new_pid;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (::kill(pid, 0) == 0 && std::chrono::steady_clock::now() < deadline) t.io.run_for(std::chrono::milliseconds(20));
  EXPECT_NE(::kill(pid, 0), 0) << "pid " << pid << " still exists";
}

TEST(BinaryUpgrade, MissingBinaryIsRefusedAtOnce) {
  UpgradeRun t;
  std::string err = t.up.start({"/nonexistent/hearthd"}, {}, std::chrono::seconds(1), [](auto&) {});
  EXPECT_NE(err.find("not executable"), std::string::npos) << err;
}

}  // namespace
}  // namespace hearth::app
