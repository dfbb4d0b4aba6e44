// Integration-style: a real Pool with the real Python runtime
// (HEARTH_TEST_RUNTIME_DIR = plugins/python in the source tree) and a tiny
// WSGI app in a temp dir. A separate binary: it makes the test process a child
// subreaper and installs the Reaper's SIGCHLD handler for the whole run.
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "proxy/environ.h"
#include "slot_harness.h"
#include "supervisor/pool.h"
#include "supervisor/reaper.h"
#include "supervisor/spawner.h"

#ifndef HEARTH_TEST_RUNTIME_DIR
#error "HEARTH_TEST_RUNTIME_DIR must point at plugins/python"
#endif

namespace hearth::supervisor {
namespace {

using hearth::testing::RecordingSink;
using hearth::testing::run_until;
using ms = std::chrono::milliseconds;

class RecordingPoolListener final : public Pool::Listener {
 public:
  void on_fatal(const std::string& message) override { fatal.push_back(message); }
  std::vector<std::string> fatal;
};

bool alive(pid_t pid) { return pid > 0 && ::kill(pid, 0) == 0; }

class PoolIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/python3";
    char tmpl[] = "/tmp/hearth-pool-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_EQ(::pipe2(death_, O_CLOEXEC), 0);
  }
  void TearDown() override {
    if (death_[0] >= 0) ::close(death_[0]);
    if (death_[1] >= 0) ::close(death_[1]);  // EOF: anything left behind exits
    if (!dir_.empty()) {
      std::error_code ec;  // best effort, as the rm -rf it replaces (system() is warn_unused_result with FORTIFY)
      std::filesystem::remove_all(dir_, ec);
    }
  }
  void write_app(const std::string& text) {
    std::ofstream f(dir_ + "/app.py");
    f << text;
  }
  Pool::Options options() {
    Pool::Options o;
    o.zygote.python = "/usr/bin/python3";
    o.zygote.runtime_dir = HEARTH_TEST_RUNTIME_DIR;
    o.zygote.app = "app:application";
    o.zygote.preload = true;
    o.zygote.chdir = dir_;
    o.zygote.env = {"PATH=/usr/bin:/bin", "PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1",
                    "HEARTH_WORKER_ID=zygote"};
    o.zygote.threads = 1;
    o.zygote.generation = 1;
    o.zygote.death_pipe_read_fd = death_[0];
    o.workers = 1;
    o.request_timeout = ms{10000};
    o.boot_timeout = ms{20000};
    o.graceful_timeout = ms{5000};
    return o;
  }

  boost::asio::io_context io_;
  std::string dir_;
  int death_[2] = {-1, -1};
};

TEST_F(PoolIntegrationTest, OneWorkerBecomesReadyServesAndStopsCleanly) {
  write_app(R"PY(
def application(environ, start_response):
    body = ("hello %s %s %s" % (environ["REQUEST_METHOD"], environ["PATH_INFO"],
                                environ["wsgi.input"].read().decode())).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
)PY");
  Reaper reaper(io_, /*become_subreaper=*/true);  // workers are double-forked: they become ours
  PosixSpawner spawner(io_);
  RecordingPoolListener listener;
  hearth::testing::RecordingHome home;  // the dispatcher's place: where free slots go
  Pool pool(io_, spawner, reaper, options(), listener);
  pool.set_slot_home(&home);
  EXPECT_EQ(pool.phase(), Pool::Phase::Starting);
  pool.start();
  ASSERT_TRUE(run_until(io_, [&] { return pool.ready_workers() == 1 && !home.free.empty(); }, ms{30000}))
      << "fatal: " << (listener.fatal.empty() ? "" : listener.fatal[0]);
  EXPECT_TRUE(listener.fatal.empty());
  EXPECT_EQ(pool.phase(), Pool::Phase::Running);
  ASSERT_EQ(home.free.size(), 1u);  // threads = 1: one slot

  Pool::Status st = pool.status();
  EXPECT_GT(st.zygote_pid, 0);
  EXPECT_STREQ(st.zygote_state, "ready");
  ASSERT_EQ(st.workers.size(), 1u);
  pid_t worker_pid = st.workers[0].pid;
  EXPECT_GT(worker_pid, 0);
  EXPECT_NE(worker_pid, st.zygote_pid);
  EXPECT_EQ(st.workers[0].slots, 1u);
  EXPECT_TRUE(alive(worker_pid));
  std::vector<pid_t> pids = pool.pids();
  EXPECT_EQ(pids.size(), 2u);

  // One real request through the slot.
  auto slot = home.free[0];
  ASSERT_EQ(slot->state(), WorkerSlot::State::Idle);
  auto req = hearth::testing::make_request("POST", "/hi?x=1", "payload");
  req->headers = {{"Host", "localhost"}, {"Content-Length", "7"}};
  req->peer_addr = "127.0.0.1";
  auto env = proxy::build_environ(*req, proxy::EnvironOptions{{}, "hearth/test"}, "req-1");
  ASSERT_EQ(env.error, "");
  auto sink = std::make_shared<RecordingSink>();
  slot->send(req, env.block, sink);
  ASSERT_TRUE(run_until(io_, [&] { return sink->finished(); }, ms{10000}));
  EXPECT_EQ(sink->status, 200);
  EXPECT_EQ(sink->body_text, "hello POST /hi payload");
  EXPECT_EQ(sink->finished_ok, true);
  EXPECT_EQ(sink->header("Content-Type"), "text/plain");

  bool stopped = false;
  pool.shutdown([&] { stopped = true; });
  ASSERT_TRUE(run_until(io_, [&] { return stopped; }, ms{15000}));
  EXPECT_EQ(pool.phase(), Pool::Phase::Stopped);
  EXPECT_TRUE(pool.pids().empty());
  for (pid_t p : pids) EXPECT_FALSE(alive(p)) << "pid " << p << " outlived the pool";
  EXPECT_TRUE(listener.fatal.empty());
}

TEST_F(PoolIntegrationTest, ImportErrorAtStartIsFatal) {
  write_app("raise RuntimeError('boom at import')\n");
  Reaper reaper(io_, true);
  PosixSpawner spawner(io_);
  RecordingPoolListener listener;
  hearth::testing::RecordingHome home;  // the dispatcher's place: where free slots go
  Pool pool(io_, spawner, reaper, options(), listener);
  pool.set_slot_home(&home);
  pool.start();
  ASSERT_TRUE(run_until(io_, [&] { return !listener.fatal.empty(); }, ms{30000}));
  EXPECT_NE(listener.fatal[0].find("boom at import"), std::string::npos) << listener.fatal[0];
  EXPECT_EQ(pool.ready_workers(), 0u);
  EXPECT_TRUE(home.free.empty());

  bool stopped = false;
  pool.shutdown([&] { stopped = true; });
  ASSERT_TRUE(run_until(io_, [&] { return stopped; }, ms{15000}));
  EXPECT_EQ(pool.phase(), Pool::Phase::Stopped);
}

TEST_F(PoolIntegrationTest, MissingInterpreterIsFatal) {
  write_app("def application(e, s):\n    return []\n");
  Reaper reaper(io_, true);
  PosixSpawner spawner(io_);
  RecordingPoolListener listener;
  Pool::Options o = options();
  o.zygote.python = dir_ + "/no-such-python";
  Pool pool(io_, spawner, reaper, o, listener);
  pool.start();
  ASSERT_TRUE(run_until(io_, [&] { return !listener.fatal.empty(); }, ms{10000}));
  EXPECT_NE(listener.fatal[0].find("no-such-python"), std::string::npos) << listener.fatal[0];
  bool stopped = false;
  pool.shutdown([&] { stopped = true; });
  ASSERT_TRUE(run_until(io_, [&] { return stopped; }, ms{15000}));
}

}  // namespace
}  // namespace hearth::supervisor
