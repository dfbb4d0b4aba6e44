// Worker lifecycle without Python: the "worker process" is a child of ours
// that only waits for signals (optionally ignoring some), and the test plays
// the Python side on the worker's slot sockets.
#include "supervisor/worker.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <optional>
#include <string>
#include <vector>

#include "fake_zygote.h"
#include "slot_harness.h"

namespace hearth::supervisor {
namespace {

using namespace std::string_literals;
using hearth::testing::make_request;
using hearth::testing::RecordingSink;
using hearth::testing::run_for;
using hearth::testing::run_until;
using ms = std::chrono::milliseconds;
using State = Worker::State;
using Reason = Worker::StopReason;

class RecordingWorkerListener final : public Worker::Listener {
 public:
  void on_worker_booted(Worker& w) override {
    ++booted;
    if (auto_admit) w.admit();
  }
  void on_worker_ready(Worker&) override { ++ready; }
  void on_worker_boot_failed(Worker&, const std::string& text) override { boot_failed.push_back(text); }
  void on_exchange_counted(Worker& w) override {
    ++counted;
    if (on_counted) on_counted(w);
  }
  void on_worker_exit(Worker& w, const ExitStatus& st) override {
    exits.push_back(st);
    exit_reason = w.stop_reason();
  }
  bool auto_admit = true;
  int booted = 0, ready = 0;
  std::vector<std::string> boot_failed;
  int counted = 0;
  std::function<void(Worker&)> on_counted;  // plays the pool's verdict (ejection)
  std::vector<ExitStatus> exits;
  Reason exit_reason = Reason::None;
};

// The Python side of one slot socket (fd from create_slots).
class SlotPeer {
 public:
  SlotPeer(boost::asio::io_context& io, int fd) : w_(io) {
    w_.socket().assign(boost::asio::local::stream_protocol(), fd);
  }
  hearth::testing::FakeWorker& operator*() { return w_; }
  hearth::testing::FakeWorker* operator->() { return &w_; }

 private:
  hearth::testing::FakeWorker w_;
};

class WorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
  }
  void TearDown() override {
    if (worker_ && worker_->pid() > 0 && worker_->state() != State::Dead) {
      worker_->kill_now(Reason::Shutdown);
      run_until(io_, [&] { return worker_->state() == State::Dead; });
    }
    peers_.clear();
    worker_.reset();
    io_.poll();
  }
  // Creates the worker and its slots; the peers play the Python threads.
  void make(uint32_t threads = 1, ms request_timeout = ms{0}, ms boot_timeout = ms{10000}) {
    worker_ = std::make_shared<Worker>(io_, reaper_, listener_, &home_, /*id=*/4, /*generation=*/2, request_timeout,
                                       boot_timeout, clock_);
    std::vector<int> fds;
    ASSERT_EQ(worker_->create_slots(threads, &fds), "");
    ASSERT_EQ(fds.size(), threads);
    for (int fd : fds) peers_.push_back(std::make_unique<SlotPeer>(io_, fd));
  }
  // Forked, READY on slot 0, admitted.
  void boot(std::vector<int> ignore = {}) {
    pid_ = hearth::testing::pausing_child(std::move(ignore));
    worker_->on_forked(pid_);
    (*peers_[0])->send(FrameType::WorkerReady,
                       R"({"pid":)" + std::to_string(pid_) + R"(,"worker_id":4,"boot_ms":12})");
    ASSERT_TRUE(run_until(io_, [&] { return listener_.ready == 1; }));
  }
  bool wait_exit() {
    return run_until(io_, [&] { return !listener_.exits.empty(); });
  }

  boost::asio::io_context io_;
  Reaper reaper_{io_, false};
  ManualClock clock_;  // stamps started/ready/idle; the timers run on the loop
  RecordingWorkerListener listener_;
  hearth::testing::RecordingHome home_;  // the dispatcher's place: where free slots go
  std::shared_ptr<Worker> worker_;
  std::vector<std::unique_ptr<SlotPeer>> peers_;
  pid_t pid_ = -1;
};

TEST_F(WorkerTest, BootReadyAdmitFreesEverySlot) {
  listener_.auto_admit = false;
  make(2);
  EXPECT_EQ(worker_->state(), State::Forking);
  EXPECT_EQ(worker_->slots().size(), 2u);
  EXPECT_EQ(worker_->pid(), -1);
  pid_ = hearth::testing::pausing_child();
  worker_->on_forked(pid_);
  EXPECT_EQ(worker_->state(), State::Booting);
  EXPECT_EQ(worker_->pid(), pid_);

  (*peers_[0])->send(FrameType::WorkerReady, R"({"pid":1,"worker_id":4,"boot_ms":12})");
  ASSERT_TRUE(run_until(io_, [&] { return listener_.booted == 1; }));
  EXPECT_EQ(worker_->state(), State::Admitting);
  EXPECT_EQ(worker_->boot_ms(), 12);
  EXPECT_EQ(worker_->pid(), pid_);  // FORKED came first: READY's pid is not used
  EXPECT_EQ(listener_.ready, 0);
  EXPECT_TRUE(home_.free.empty());

  worker_->admit();
  EXPECT_EQ(worker_->state(), State::Ready);
  EXPECT_EQ(listener_.ready, 1);
  ASSERT_EQ(home_.free.size(), 2u);
  EXPECT_EQ(home_.free[0], worker_->slots()[0]);
  EXPECT_EQ(home_.free[1], worker_->slots()[1]);
  EXPECT_EQ(home_.free[0]->worker_id(), 4);
  EXPECT_EQ(home_.free[1]->index(), 1);
}

TEST_F(WorkerTest, ReadyBeforeForkedTakesThePidFromReady) {
  make();
  pid_ = hearth::testing::pausing_child();
  (*peers_[0])->send(FrameType::WorkerReady, R"({"pid":)" + std::to_string(pid_) + R"(,"worker_id":4,"boot_ms":3})");
  ASSERT_TRUE(run_until(io_, [&] { return listener_.ready == 1; }));
  EXPECT_EQ(worker_->pid(), pid_);
  EXPECT_EQ(worker_->state(), State::Ready);
  worker_->on_forked(pid_);  // the late FORKED changes nothing
  EXPECT_EQ(worker_->state(), State::Ready);
  // The exit is still seen (the reaper watches the pid).
  ::kill(pid_, SIGKILL);
  ASSERT_TRUE(wait_exit());
  EXPECT_EQ(listener_.exit_reason, Reason::Crash);
}

TEST_F(WorkerTest, ServesRequestsAndFreesTheSlotAgain) {
  make();
  boot();
  ASSERT_EQ(home_.free.size(), 1u);
  auto slot = home_.free[0];
  for (int i = 1; i <= 2; ++i) {
    auto sink = std::make_shared<RecordingSink>();
    slot->send(make_request("GET", "/"), "PATH_INFO\0/"s, sink);
    ASSERT_TRUE((*peers_[0])->await_request(io_));
    (*peers_[0])->respond("200 OK", "x");
    ASSERT_TRUE(run_until(io_, [&] { return home_.free.size() == static_cast<std::size_t>(i + 1); }));
    EXPECT_EQ(worker_->requests_served(), static_cast<uint64_t>(i));
  }
  // Internal requests (warm-up, health) are not counted as served.
  slot->send(make_request("GET", "/health"), "PATH_INFO\0/health"s, std::make_shared<RecordingSink>(), true);
  ASSERT_TRUE((*peers_[0])->await_request(io_));
  (*peers_[0])->respond("200 OK", "");
  ASSERT_TRUE(run_until(io_, [&] { return home_.free.size() == 4u; }));
  EXPECT_EQ(worker_->requests_served(), 2u);
}

// The slot's one return path: the worker counts the exchange, the pool's
// verdict (on_exchange_counted) may eject it, and only then is the fate decided.
TEST_F(WorkerTest, EjectedAfterAnExchangeWithholdsTheSlot) {
  make(2);
  boot();
  ASSERT_EQ(home_.free.size(), 2u);
  auto slot = home_.free[0];
  listener_.on_counted = [](Worker& w) { w.stop(Reason::Health, ms{5000}); };
  auto sink = std::make_shared<RecordingSink>();
  slot->send(make_request("GET", "/"), "PATH_INFO\0/"s, sink);
  ASSERT_TRUE((*peers_[0])->await_request(io_));
  (*peers_[0])->respond("500 Internal Server Error", "x");
  ASSERT_TRUE(run_until(io_, [&] { return !home_.ends.empty(); }));
  EXPECT_EQ(listener_.counted, 1);
  EXPECT_EQ(worker_->consecutive_failures(), 1u);
  EXPECT_EQ(home_.ends[0].outcome, ExchangeOutcome::Done);
  EXPECT_EQ(home_.ends[0].fate, SlotFate::Withheld);
  EXPECT_EQ(home_.free.size(), 2u);  // not offered again
  EXPECT_EQ(worker_->stop_reason(), Reason::Health);
  ASSERT_TRUE(wait_exit());  // nothing else in flight: SIGTERM at once
  EXPECT_EQ(listener_.exits[0].signal(), SIGTERM);
}

TEST_F(WorkerTest, ExchangeOnAStoppingWorkerIsNotCountedByThePool) {
  make(2);
  boot();
  auto a = home_.free[0];
  auto b = home_.free[1];
  auto sa = std::make_shared<RecordingSink>(), sb = std::make_shared<RecordingSink>();
  a->send(make_request("GET", "/a"), "PATH_INFO\0/a"s, sa);
  b->send(make_request("GET", "/b"), "PATH_INFO\0/b"s, sb);
  ASSERT_TRUE((*peers_[0])->await_request(io_));
  ASSERT_TRUE((*peers_[1])->await_request(io_));
  worker_->stop(Reason::Reload, ms{5000});
  ASSERT_EQ(worker_->state(), State::Draining);
  (*peers_[0])->respond("200 OK", "a");
  ASSERT_TRUE(run_until(io_, [&] { return home_.ends.size() == 1u; }));
  EXPECT_EQ(home_.ends[0].fate, SlotFate::Withheld);
  EXPECT_EQ(listener_.counted, 0);  // the pool only judges workers in rotation
  EXPECT_EQ(worker_->requests_served(), 1u);
  EXPECT_EQ(worker_->state(), State::Draining);  // b still runs
  (*peers_[1])->respond("200 OK", "b");
  ASSERT_TRUE(run_until(io_, [&] { return home_.ends.size() == 2u; }));
  EXPECT_EQ(home_.ends[1].fate, SlotFate::Withheld);
  EXPECT_EQ(home_.free.size(), 2u);
  ASSERT_TRUE(wait_exit());  // the last one done: SIGTERM
  EXPECT_EQ(listener_.exits[0].signal(), SIGTERM);
}

TEST_F(WorkerTest, TimestampsComeFromTheInjectedClock) {
  const TimePoint t0 = clock_.now();
  make();
  EXPECT_EQ(worker_->started_at(), t0);
  EXPECT_EQ(worker_->idle_since(), t0);
  clock_.advance(ms{1500});
  boot();
  EXPECT_EQ(worker_->ready_at(), t0 + ms{1500});
  EXPECT_EQ(worker_->idle_since(), t0 + ms{1500});
  auto slot = home_.free.at(0);
  slot->send(make_request("GET", "/"), "PATH_INFO\0/"s, std::make_shared<RecordingSink>());
  ASSERT_TRUE((*peers_[0])->await_request(io_));
  clock_.advance(ms{250});
  EXPECT_EQ(slot->busy_for(), ms{250});  // the slots time their exchange on the same clock
  (*peers_[0])->respond("200 OK", "x");
  ASSERT_TRUE(run_until(io_, [&] { return home_.free.size() == 2u; }));
  EXPECT_EQ(worker_->idle_since(), t0 + ms{1750});  // idle again when the exchange ended
  EXPECT_EQ(worker_->started_at(), t0);
}

TEST_F(WorkerTest, IdleOnlyOnceItsLastExchangeEnded) {
  // The worker counts its running exchanges (no pass over the slots per request):
  // with two at once it is idle when the second ends, not the first.
  const TimePoint t0 = clock_.now();
  make(2);
  boot();
  auto a = home_.free.at(0);
  auto b = home_.free.at(1);
  a->send(make_request("GET", "/a"), "PATH_INFO\0/a"s, std::make_shared<RecordingSink>());
  b->send(make_request("GET", "/b"), "PATH_INFO\0/b"s, std::make_shared<RecordingSink>());
  ASSERT_TRUE((*peers_[0])->await_request(io_));
  ASSERT_TRUE((*peers_[1])->await_request(io_));
  EXPECT_EQ(worker_->busy_slots(), 2u);
  clock_.advance(ms{100});
  (*peers_[0])->respond("200 OK", "a");
  ASSERT_TRUE(run_until(io_, [&] { return home_.ends.size() == 1u; }));
  EXPECT_EQ(worker_->idle_since(), t0);  // b still runs
  clock_.advance(ms{100});
  (*peers_[1])->respond("200 OK", "b");
  ASSERT_TRUE(run_until(io_, [&] { return home_.ends.size() == 2u; }));
  EXPECT_EQ(worker_->idle_since(), t0 + ms{200});
  EXPECT_EQ(worker_->busy_slots(), 0u);
}

TEST_F(WorkerTest, WorkerFailedIsABootFailure) {
  make();
  pid_ = hearth::testing::pausing_child();
  worker_->on_forked(pid_);
  (*peers_[0])->send(FrameType::WorkerFailed, "Traceback: ImportError: x");
  ASSERT_TRUE(run_until(io_, [&] { return !listener_.boot_failed.empty(); }));
  EXPECT_EQ(listener_.boot_failed, (std::vector<std::string>{"Traceback: ImportError: x"}));
  EXPECT_EQ(worker_->stop_reason(), Reason::BootFailed);
  EXPECT_EQ(listener_.ready, 0);
}

TEST_F(WorkerTest, BootTimeoutKills) {
  make(1, ms{0}, /*boot_timeout=*/ms{50});
  pid_ = hearth::testing::pausing_child({SIGTERM});
  worker_->on_forked(pid_);
  ASSERT_TRUE(run_until(io_, [&] { return !listener_.boot_failed.empty(); }));
  EXPECT_EQ(listener_.boot_failed, (std::vector<std::string>{"boot timeout"}));
  ASSERT_TRUE(wait_exit());
  EXPECT_TRUE(listener_.exits[0].signaled());
  EXPECT_EQ(listener_.exits[0].signal(), SIGKILL);
  EXPECT_EQ(listener_.exit_reason, Reason::BootTimeout);
  EXPECT_EQ(worker_->state(), State::Dead);
}

TEST_F(WorkerTest, ForkFailedIsDeadAtOnce) {
  make();
  worker_->on_fork_failed("EAGAIN");
  EXPECT_EQ(worker_->state(), State::Dead);
  ASSERT_EQ(listener_.exits.size(), 1u);
  EXPECT_EQ(listener_.exits[0].pid, -1);
  EXPECT_EQ(listener_.exit_reason, Reason::BootFailed);
  EXPECT_EQ(worker_->slots()[0]->state(), WorkerSlot::State::Closed);
}

TEST_F(WorkerTest, GracefulStopWhileIdleSendsTerm) {
  make();
  boot();
  worker_->stop(Reason::Shutdown, ms{5000});
  EXPECT_EQ(worker_->state(), State::Stopping);
  ASSERT_TRUE(wait_exit());
  EXPECT_TRUE(listener_.exits[0].signaled());
  EXPECT_EQ(listener_.exits[0].signal(), SIGTERM);
  EXPECT_EQ(listener_.exit_reason, Reason::Shutdown);
  EXPECT_EQ(worker_->state(), State::Dead);
  EXPECT_EQ(worker_->slots()[0]->state(), WorkerSlot::State::Closed);
}

TEST_F(WorkerTest, TermIgnoredMeansKillAfterGrace) {
  make();
  boot({SIGTERM});
  auto t0 = std::chrono::steady_clock::now();
  worker_->stop(Reason::Scale, ms{100});
  ASSERT_TRUE(wait_exit());
  EXPECT_GE(std::chrono::steady_clock::now() - t0, ms{100});
  EXPECT_EQ(listener_.exits[0].signal(), SIGKILL);
  EXPECT_EQ(listener_.exit_reason, Reason::Scale);
}

TEST_F(WorkerTest, StopWhileBusyDrainsFirst) {
  make();
  boot();
  auto slot = home_.free[0];
  auto sink = std::make_shared<RecordingSink>();
  slot->send(make_request("GET", "/long"), "PATH_INFO\0/long"s, sink);
  ASSERT_TRUE((*peers_[0])->await_request(io_));
  worker_->stop(Reason::Shutdown, ms{5000});
  EXPECT_EQ(worker_->state(), State::Draining);
  run_for(io_, ms{30});
  EXPECT_TRUE(listener_.exits.empty());  // not signalled while the request runs

  (*peers_[0])->respond("200 OK", "done");
  ASSERT_TRUE(wait_exit());
  EXPECT_EQ(sink->body_text, "done");
  EXPECT_EQ(sink->finished_ok, true);
  EXPECT_EQ(listener_.exits[0].signal(), SIGTERM);
  EXPECT_EQ(home_.free.size(), 1u);  // the slot was not offered again while draining
}

TEST_F(WorkerTest, DrainingPastTheGraceIsKilled) {
  make();
  boot({SIGTERM});
  auto slot = home_.free[0];
  auto sink = std::make_shared<RecordingSink>();
  slot->send(make_request("GET", "/stuck"), "PATH_INFO\0/stuck"s, sink);
  ASSERT_TRUE((*peers_[0])->await_request(io_));
  worker_->stop(Reason::Shutdown, ms{50});
  ASSERT_TRUE(wait_exit());
  EXPECT_EQ(listener_.exits[0].signal(), SIGKILL);
  EXPECT_EQ(listener_.exit_reason, Reason::Shutdown);
  run_until(io_, [&] { return sink->finished(); });
  EXPECT_EQ(sink->status, 502);  // the request was cut: the client gets an answer
}

TEST_F(WorkerTest, UnexpectedDeathIsACrash) {
  make();
  boot();
  ::kill(pid_, SIGKILL);
  ASSERT_TRUE(wait_exit());
  EXPECT_EQ(listener_.exit_reason, Reason::Crash);
  EXPECT_EQ(worker_->state(), State::Dead);
}

TEST_F(WorkerTest, SlotSocketClosedKillsTheProcess) {
  make();
  boot({SIGTERM});
  (*peers_[0])->close();  // the Python side closed its socket: it is broken or exiting
  ASSERT_TRUE(wait_exit());
  EXPECT_EQ(listener_.exits[0].signal(), SIGKILL);
  EXPECT_EQ(listener_.exit_reason, Reason::Crash);
}

TEST_F(WorkerTest, RequestTimeoutDumpsStacksThenKills) {
  make(1, /*request_timeout=*/ms{50});
  boot({SIGTERM, SIGUSR2});
  auto slot = home_.free[0];
  auto sink = std::make_shared<RecordingSink>();
  slot->send(make_request("GET", "/slow"), "PATH_INFO\0/slow"s, sink);
  ASSERT_TRUE((*peers_[0])->await_request(io_));
  ASSERT_TRUE(run_until(io_, [&] { return sink->finished(); }));
  EXPECT_EQ(sink->status, 504);
  EXPECT_EQ(worker_->state(), State::Stopping);
  EXPECT_EQ(worker_->stop_reason(), Reason::Timeout);
  ASSERT_TRUE(wait_exit());  // SIGUSR2 (ignored here), then SIGKILL after 500 ms
  EXPECT_EQ(listener_.exits[0].signal(), SIGKILL);
  EXPECT_EQ(listener_.exit_reason, Reason::Timeout);
}

TEST_F(WorkerTest, ProtocolErrorKillsAsBroken) {
  make();
  boot({SIGTERM});
  auto slot = home_.free[0];
  auto sink = std::make_shared<RecordingSink>();
  slot->send(make_request("GET", "/"), "PATH_INFO\0/"s, sink);
  ASSERT_TRUE((*peers_[0])->await_request(io_));
  (*peers_[0])->send(FrameType::ResponseStart, "not a status");
  ASSERT_TRUE(wait_exit());
  EXPECT_EQ(sink->status, 502);
  EXPECT_EQ(listener_.exits[0].signal(), SIGKILL);
  EXPECT_EQ(listener_.exit_reason, Reason::Broken);
}

TEST_F(WorkerTest, StopWhileForkingTermsOnceThePidIsKnown) {
  make();
  worker_->stop(Reason::Shutdown, ms{5000});
  EXPECT_EQ(worker_->state(), State::Stopping);
  pid_ = hearth::testing::pausing_child();
  worker_->on_forked(pid_);
  ASSERT_TRUE(wait_exit());
  EXPECT_EQ(listener_.exits[0].signal(), SIGTERM);
  EXPECT_EQ(listener_.exit_reason, Reason::Shutdown);
}

TEST(WorkerNames, StatesAndReasons) {
  EXPECT_STREQ(worker_state_name(State::Forking), "forking");
  EXPECT_STREQ(worker_state_name(State::Ready), "ready");
  EXPECT_STREQ(worker_state_name(State::Dead), "dead");
  EXPECT_STREQ(stop_reason_name(Reason::BootTimeout), "boot_timeout");
  EXPECT_STREQ(stop_reason_name(Reason::Crash), "crash");
}

}  // namespace
}  // namespace hearth::supervisor
