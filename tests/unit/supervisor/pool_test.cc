// The Pool carrying out the reconciler's plans, without Python: a fake
// spawner (fake_zygote.h) whose zygotes the test plays on their control
// sockets (ZYGOTE_READY, FORK -> a pausing child + FORKED, WORKER_READY on the
// slot socket), and a ManualClock for everything the Pool times.
#include "supervisor/pool.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "fake_zygote.h"
#include "slot_harness.h"

namespace hearth::supervisor {
namespace {

using hearth::testing::FakeSpawner;
using hearth::testing::Frame;
using hearth::testing::run_until;
using ms = std::chrono::milliseconds;

class RecordingPoolListener final : public Pool::Listener {
 public:
  void on_fatal(const std::string& message) override { fatal.push_back(message); }
  std::vector<std::string> fatal;
};

struct FakeWorkerProcess {
  int id = 0;
  pid_t pid = -1;
  std::vector<int> slot_fds;  // the worker's ends; kept open while it "runs"
};

class PoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    ASSERT_EQ(::pipe2(death_, O_CLOEXEC), 0);
    clock_.advance(ms{60000});
  }
  void TearDown() override {
    if (pool_ && pool_->phase() != Pool::Phase::Stopped) {
      bool stopped = false;
      pool_->shutdown([&] { stopped = true; }, ms{0});
      EXPECT_TRUE(run_until(io_, [&] { return stopped; }, ms{5000}));
    }
    pool_.reset();
    for (auto& w : workers_)
      for (int fd : w.slot_fds) ::close(fd);
    ::close(death_[0]);
    ::close(death_[1]);
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
  }
  void make(uint32_t workers, uint64_t max_requests = 0) {
    Pool::Options o;
    o.max_requests = max_requests;
    o.zygote.python = "/usr/bin/python3";
    o.zygote.runtime_dir = "/nonexistent";
    o.zygote.app = "app:application";
    o.zygote.preload = true;
    o.zygote.threads = 1;
    o.zygote.death_pipe_read_fd = death_[0];
    o.workers = workers;
    o.graceful_timeout = ms{2000};
    pool_ = std::make_unique<Pool>(io_, spawner_, reaper_, o, listener_, clock_);
    pool_->set_slot_home(&home_);
  }
  int zygote(std::size_t n) { return spawner_.controls.at(n); }
  void zygote_ready(std::size_t n) {
    ASSERT_TRUE(hearth::testing::send_frame(zygote(n), FrameType::ZygoteReady, R"({"pid":1,"import_ms":5})"));
  }
  // The next frame from zygote n (pumping the loop until one arrives).
  std::optional<Frame> next_frame(std::size_t n) {
    std::optional<Frame> f;
    run_until(io_, [&] { return (f = hearth::testing::recv_frame(zygote(n))).has_value(); });
    return f;
  }
  // Zygote n answers the next FORK: a pausing child, FORKED, then (unless
  // `fail`) WORKER_READY, else WORKER_FAILED, on its first slot.
  std::optional<FakeWorkerProcess> fork_one(std::size_t n, bool fail = false) {
    auto f = next_frame(n);
    if (!f || f->header.type != FrameType::Fork) {
      ADD_FAILURE() << "no FORK from zygote " << n;
      return std::nullopt;
    }
    FakeWorkerProcess w;
    w.id = static_cast<int>(json_int(f->payload, "worker_id").value_or(-1));
    w.slot_fds = f->fds;
    w.pid = hearth::testing::pausing_child();
    workers_.push_back(w);
    std::string id = std::to_string(w.id), pid = std::to_string(w.pid);
    EXPECT_TRUE(hearth::testing::send_frame(zygote(n), FrameType::Forked, R"({"worker_id":)" + id + R"(,"pid":)" + pid + "}"));
    if (fail)
      EXPECT_TRUE(hearth::testing::send_frame(w.slot_fds.at(0), FrameType::WorkerFailed, "ImportError: canary"));
    else
      EXPECT_TRUE(hearth::testing::send_frame(w.slot_fds.at(0), FrameType::WorkerReady,
                                              R"({"pid":)" + pid + R"(,"worker_id":)" + id + R"(,"boot_ms":1})"));
    return w;
  }
  std::vector<int> worker_ids(uint32_t gen) const {
    std::vector<int> out;
    for (auto& w : pool_->workers())
      if (w->generation() == gen && w->state() == Worker::State::Ready) out.push_back(w->id());
    return out;
  }

  boost::asio::io_context io_;
  Reaper reaper_{io_, false};
  FakeSpawner spawner_;
  ManualClock clock_;
  RecordingPoolListener listener_;
  hearth::testing::RecordingHome home_;  // the dispatcher's place: where free slots go
  std::unique_ptr<Pool> pool_;
  std::vector<FakeWorkerProcess> workers_;
  int death_[2] = {-1, -1};
};

TEST_F(PoolTest, StartsTheTargetAndRollsAReloadInOldForNewSteps) {
  make(2);
  pool_->start();
  ASSERT_EQ(spawner_.controls.size(), 1u);
  zygote_ready(0);
  ASSERT_TRUE(fork_one(0));
  ASSERT_TRUE(fork_one(0));
  ASSERT_TRUE(run_until(io_, [&] { return pool_->ready_workers() == 2; }));
  EXPECT_EQ(pool_->phase(), Pool::Phase::Running);
  EXPECT_EQ(worker_ids(1), (std::vector<int>{1, 2}));
  // Status ages come from the injected clock.
  clock_.advance(ms{2500});
  EXPECT_DOUBLE_EQ(pool_->status().workers.at(0).age_s, 2.5);

  std::optional<Pool::ReloadResult> result;
  pool_->reload([&](const Pool::ReloadResult& r) { result = r; });
  ASSERT_EQ(spawner_.controls.size(), 2u);
  EXPECT_EQ(pool_->reload_step(), Pool::ReloadStep::Importing);
  EXPECT_STREQ(pool_->status().reload, "importing");
  zygote_ready(1);
  auto canary = fork_one(1);  // the canary
  ASSERT_TRUE(canary);
  EXPECT_EQ(canary->id, 3);
  // The canary became ready: worker 2 (the newest idle) drains, and the next new one is forked.
  auto second = fork_one(1);
  ASSERT_TRUE(second);
  EXPECT_EQ(pool_->reload_step(), Pool::ReloadStep::Rolling);
  EXPECT_EQ(worker_ids(1), (std::vector<int>{1}));
  clock_.advance(ms{1500});
  ASSERT_TRUE(run_until(io_, [&] { return result.has_value(); }));
  EXPECT_TRUE(result->ok) << result->message;
  EXPECT_EQ(result->generation, 2u);
  EXPECT_DOUBLE_EQ(result->seconds, 1.5);  // the ManualClock's time, not the wall's
  EXPECT_EQ(pool_->generation(), 2u);
  EXPECT_EQ(pool_->reload_step(), Pool::ReloadStep::None);
  EXPECT_EQ(worker_ids(2), (std::vector<int>{3, 4}));
  // The old zygote is told to stop; the old workers exit (SIGTERM) and are removed.
  auto shutdown = next_frame(0);
  ASSERT_TRUE(shutdown);
  EXPECT_EQ(shutdown->header.type, FrameType::Shutdown);
  ASSERT_TRUE(run_until(io_, [&] { return pool_->workers().size() == 2u; }));
  EXPECT_EQ(pool_->counters().reloads_ok, 1u);
  EXPECT_EQ(pool_->counters().restarts.at("reload"), 2u);
}

TEST_F(PoolTest, ACanaryThatFailsAbortsTheReloadAndTheOldGenerationServes) {
  make(1);
  pool_->start();
  zygote_ready(0);
  ASSERT_TRUE(fork_one(0));
  ASSERT_TRUE(run_until(io_, [&] { return pool_->ready_workers() == 1; }));

  std::optional<Pool::ReloadResult> result;
  pool_->reload([&](const Pool::ReloadResult& r) { result = r; });
  zygote_ready(1);
  ASSERT_TRUE(fork_one(1, /*fail=*/true));
  ASSERT_TRUE(run_until(io_, [&] { return result.has_value(); }));
  EXPECT_FALSE(result->ok);
  EXPECT_EQ(result->generation, 1u);
  EXPECT_NE(result->message.find("failed to boot"), std::string::npos) << result->message;
  EXPECT_EQ(result->detail, "ImportError: canary");
  EXPECT_EQ(pool_->generation(), 1u);
  EXPECT_EQ(pool_->reload_step(), Pool::ReloadStep::None);
  EXPECT_EQ(worker_ids(1), (std::vector<int>{1}));
  auto shutdown = next_frame(1);  // the new zygote is stopped
  ASSERT_TRUE(shutdown);
  EXPECT_EQ(shutdown->header.type, FrameType::Shutdown);
  EXPECT_EQ(pool_->counters().reloads_failed, 1u);
  // A second reload is a new generation (3), not a retry of the aborted one.
  result.reset();
  pool_->reload([&](const Pool::ReloadResult& r) { result = r; });
  ASSERT_EQ(spawner_.controls.size(), 3u);
  EXPECT_EQ(pool_->reload_step(), Pool::ReloadStep::Importing);
  // Shutting down answers it (before `result` goes out of scope).
  bool stopped = false;
  pool_->shutdown([&] { stopped = true; }, ms{0});
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(result->ok);
  EXPECT_NE(result->message.find("shutting down"), std::string::npos) << result->message;
  ASSERT_TRUE(run_until(io_, [&] { return stopped; }));
  EXPECT_EQ(pool_->phase(), Pool::Phase::Stopped);
}

TEST_F(PoolTest, ScaleStartsAndRetiresWorkers) {
  make(1);
  pool_->start();
  zygote_ready(0);
  ASSERT_TRUE(fork_one(0));
  ASSERT_TRUE(run_until(io_, [&] { return pool_->ready_workers() == 1; }));
  EXPECT_EQ(pool_->scale(3), "");
  ASSERT_TRUE(fork_one(0));
  ASSERT_TRUE(fork_one(0));
  ASSERT_TRUE(run_until(io_, [&] { return pool_->ready_workers() == 3; }));
  EXPECT_EQ(pool_->scale(1), "");
  // The newest idle ones go; the scale-down is no restart.
  ASSERT_TRUE(run_until(io_, [&] { return pool_->workers().size() == 1u; }));
  EXPECT_EQ(worker_ids(1), (std::vector<int>{1}));
  EXPECT_EQ(pool_->status().restarts, 0u);
  EXPECT_EQ(pool_->counters().restarts.at("scale"), 2u);
}

TEST_F(PoolTest, MaxRequestsRecyclesReplacementFirst) {
  using namespace std::string_literals;
  make(1, /*max_requests=*/1);
  pool_->start();
  zygote_ready(0);
  auto first = fork_one(0);
  ASSERT_TRUE(first);
  ASSERT_TRUE(run_until(io_, [&] { return home_.free.size() == 1u; }));
  // The Python side of worker 1's slot answers one request.
  hearth::testing::FakeWorker peer(io_);
  peer.socket().assign(boost::asio::local::stream_protocol(), ::dup(first->slot_fds.at(0)));
  auto sink = std::make_shared<hearth::testing::RecordingSink>();
  home_.free[0]->send(hearth::testing::make_request("GET", "/"), "PATH_INFO\0/"s, sink);
  ASSERT_TRUE(peer.await_request(io_));
  peer.respond("200 OK", "x");
  ASSERT_TRUE(run_until(io_, [&] { return sink->finished(); }));
  // Its limit is reached: the replacement is forked while worker 1 still serves...
  auto second = fork_one(0);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->id, 2);
  // ...and once it is ready, worker 1 goes.
  ASSERT_TRUE(run_until(io_, [&] { return pool_->workers().size() == 1u; }));
  EXPECT_EQ(worker_ids(1), (std::vector<int>{2}));
  EXPECT_EQ(pool_->counters().restarts.at("max_requests"), 1u);
}

// ASGI (docs/asgi.md): the zygote's ZYGOTE_READY says how many slot sockets a worker
// gets (concurrency), and a worker whose lifespan startup fails before any worker was
// ever ready stops the daemon, even with preload.
TEST_F(PoolTest, AsgiWorkersGetTheZygotesSlotCount) {
  make(1);
  pool_->start();
  ASSERT_TRUE(hearth::testing::send_frame(zygote(0), FrameType::ZygoteReady,
                                          R"({"pid":1,"import_ms":5,"interface":"asgi","slots":5})"));
  auto w = fork_one(0);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->slot_fds.size(), 5u);
  ASSERT_TRUE(run_until(io_, [&] { return pool_->ready_workers() == 1; }));
  EXPECT_EQ(pool_->status().workers.at(0).slots, 5u);
}

TEST_F(PoolTest, AnAsgiStartupFailureBeforeAnyWorkerWasReadyIsFatal) {
  make(1);
  pool_->start();
  ASSERT_TRUE(hearth::testing::send_frame(zygote(0), FrameType::ZygoteReady,
                                          R"({"pid":1,"import_ms":5,"interface":"asgi","slots":2})"));
  ASSERT_TRUE(fork_one(0, true));
  ASSERT_TRUE(run_until(io_, [&] { return !listener_.fatal.empty(); }));
  EXPECT_NE(listener_.fatal.at(0).find("failed to start (ASGI lifespan)"), std::string::npos) << listener_.fatal.at(0);
}

TEST_F(PoolTest, AWsgiBootFailureWithPreloadIsNotFatal) {
  make(1);
  pool_->start();
  zygote_ready(0);
  ASSERT_TRUE(fork_one(0, true));
  // The failed worker is killed and replaced later (crash-loop backoff), not fatal. The
  // fatal path posts nothing: it is called from the WORKER_FAILED handler, so once the
  // worker has been killed the decision was made.
  ASSERT_TRUE(run_until(io_, [&] {
    for (auto& w : pool_->workers())
      if (w->id() == 1 && w->state() != Worker::State::Stopping && w->state() != Worker::State::Dead) return false;
    return true;  // worker 1 is stopping or gone (a replacement may already be forking)
  }));
  EXPECT_TRUE(listener_.fatal.empty());
}

}  // namespace
}  // namespace hearth::supervisor
