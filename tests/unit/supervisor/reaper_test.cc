// The Reaper installs a SIGCHLD handler (asio::signal_set) and reaps with
// waitpid(-1): each test here owns every child it starts and leaves none
// behind, and no Reaper outlives its test, so the spawner tests in this binary
// (which waitpid their own children) are unaffected.
#include "supervisor/reaper.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <map>
#include <optional>

#include "slot_harness.h"
#include "supervisor/spawner.h"

namespace hearth::supervisor {
namespace {

using hearth::testing::run_until;
using ms = std::chrono::milliseconds;

SpawnSpec sh(const std::string& script) {
  SpawnSpec s;
  s.argv = {"/bin/sh", "-c", script};
  s.env = {"PATH=/usr/bin:/bin"};
  return s;
}

class ReaperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Nothing left over from other tests.
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
  }
  pid_t spawn(const std::string& script, int stdin_fd = -1) {
    SpawnSpec spec = sh(script);
    if (stdin_fd >= 0) spec.fd_map = {{stdin_fd, 0}};
    SpawnResult r = spawner_.spawn(spec);
    EXPECT_FALSE(r.error) << r.what;
    EXPECT_GT(r.pid, 0);
    return r.pid;
  }
  // True once pid no longer exists (reaped, not merely a zombie).
  static bool gone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

  boost::asio::io_context io_;
  PosixSpawner spawner_{io_};
};

TEST_F(ReaperTest, WatchReportsTheExitCode) {
  Reaper reaper(io_, /*become_subreaper=*/false);
  pid_t pid = spawn("exit 3");
  std::optional<ExitStatus> got;
  int calls = 0;
  reaper.watch(pid, [&](const ExitStatus& st) {
    got = st;
    ++calls;
  });
  EXPECT_EQ(reaper.watched(), 1u);
  ASSERT_TRUE(run_until(io_, [&] { return got.has_value(); }));
  EXPECT_EQ(got->pid, pid);
  EXPECT_TRUE(got->exited());
  EXPECT_FALSE(got->signaled());
  EXPECT_EQ(got->exit_code(), 3);
  EXPECT_EQ(got->describe(), "exit 3");
  EXPECT_EQ(reaper.watched(), 0u);
  EXPECT_TRUE(gone(pid));
  hearth::testing::run_for(io_, ms{10});
  EXPECT_EQ(calls, 1);
}

TEST_F(ReaperTest, KilledBySignal) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  Reaper reaper(io_, false);
  pid_t pid = spawn("read x", fds[0]);
  ::close(fds[0]);
  std::optional<ExitStatus> got;
  reaper.watch(pid, [&](const ExitStatus& st) { got = st; });
  hearth::testing::run_for(io_, ms{20});
  EXPECT_FALSE(got);  // still blocked in `read`
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  ASSERT_TRUE(run_until(io_, [&] { return got.has_value(); }));
  EXPECT_TRUE(got->signaled());
  EXPECT_EQ(got->signal(), SIGKILL);
  EXPECT_EQ(got->describe(), "killed by SIGKILL");
  ::close(fds[1]);
}

TEST_F(ReaperTest, ExitBeforeWatchIsRemembered) {
  Reaper reaper(io_, false);
  pid_t pid = spawn("exit 5");
  // Let the SIGCHLD arrive and the exit be reaped with nobody watching.
  ASSERT_TRUE(run_until(io_, [&] { return gone(pid); }));
  std::optional<ExitStatus> got;
  reaper.watch(pid, [&](const ExitStatus& st) { got = st; });
  EXPECT_FALSE(got);  // delivered through post(), never from inside watch()
  EXPECT_EQ(reaper.watched(), 0u);
  io_.restart();
  io_.poll();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->pid, pid);
  EXPECT_EQ(got->exit_code(), 5);

  // Claimed once only: a second watch of the same pid waits (for a reused pid).
  bool again = false;
  reaper.watch(pid, [&](const ExitStatus&) { again = true; });
  hearth::testing::run_for(io_, ms{10});
  EXPECT_FALSE(again);
  EXPECT_EQ(reaper.watched(), 1u);
  reaper.unwatch(pid);
}

TEST_F(ReaperTest, UnwatchDropsTheCallback) {
  Reaper reaper(io_, false);
  pid_t pid = spawn("exit 0");
  bool called = false;
  reaper.watch(pid, [&](const ExitStatus&) { called = true; });
  reaper.unwatch(pid);
  EXPECT_EQ(reaper.watched(), 0u);
  ASSERT_TRUE(run_until(io_, [&] { return gone(pid); }));
  hearth::testing::run_for(io_, ms{10});
  EXPECT_FALSE(called);
}

TEST_F(ReaperTest, SeveralChildrenEachReportedToTheirWatcher) {
  Reaper reaper(io_, false);
  std::map<pid_t, int> codes;
  std::map<pid_t, int> expected;
  for (int code : {1, 2, 7, 0}) {
    pid_t pid = spawn("exit " + std::to_string(code));
    expected[pid] = code;
    reaper.watch(pid, [&codes](const ExitStatus& st) { codes[st.pid] = st.exit_code(); });
  }
  ASSERT_TRUE(run_until(io_, [&] { return codes.size() == expected.size(); }));
  EXPECT_EQ(codes, expected);
}

TEST(ExitStatus, Describe) {
  EXPECT_EQ((ExitStatus{1, 0}).describe(), "exit 0");
  EXPECT_EQ((ExitStatus{1, 3 << 8}).describe(), "exit 3");
  EXPECT_EQ((ExitStatus{1, 255 << 8}).describe(), "exit 255");
  EXPECT_EQ((ExitStatus{1, SIGKILL}).describe(), "killed by SIGKILL");
  EXPECT_EQ((ExitStatus{1, SIGTERM}).describe(), "killed by SIGTERM");
  EXPECT_EQ((ExitStatus{1, SIGSEGV | 0x80}).describe(), "killed by SIGSEGV");  // core dumped
  ExitStatus st{1, 7 << 8};
  EXPECT_TRUE(st.exited());
  EXPECT_EQ(st.exit_code(), 7);
  EXPECT_FALSE(st.signaled());
}

}  // namespace
}  // namespace hearth::supervisor
