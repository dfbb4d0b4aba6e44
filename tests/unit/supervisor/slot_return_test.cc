// A slot's one return path: when an exchange ends, the Owner (the Worker) is
// asked once for the slot's fate, then the Home (the dispatcher) is told how
// the exchange ended as a value (ExchangeEnd): Done, Failed, or Retry with the
// request handed back. Real slots over socketpairs (slot_harness.h).
#include <gtest/gtest.h>

#include <string>

#include "slot_harness.h"
#include "supervisor/worker_slot.h"

namespace hearth::supervisor {
namespace {

using namespace std::string_literals;
using hearth::testing::FakeWorker;
using hearth::testing::make_request;
using hearth::testing::RecordingHome;
using hearth::testing::RecordingOwner;
using hearth::testing::RecordingSink;
using hearth::testing::run_until;
using hearth::testing::SlotPair;
using Outcome = WorkerSlot::Outcome;
using State = WorkerSlot::State;
using ms = std::chrono::milliseconds;

// Records the order in which the Owner and the Home hear of an exchange's end.
class OrderedOwner final : public WorkerSlot::Owner {
 public:
  explicit OrderedOwner(std::vector<std::string>& log) : log_(log) {}
  void on_worker_ready(WorkerSlot&, std::string_view) override {}
  void on_worker_failed(WorkerSlot&, std::string_view) override {}
  SlotFate on_exchange_done(WorkerSlot& slot, Outcome o) override {
    // The slot's state is final when the owner is asked.
    log_.push_back(std::string("owner:") + WorkerSlot::outcome_name(o) + ":" +
                   (slot.state() == State::Idle ? "idle" : "not-idle"));
    return SlotFate::Free;
  }
  void on_slot_closed(WorkerSlot&) override {}

 private:
  std::vector<std::string>& log_;
};

class OrderedHome final : public WorkerSlot::Home {
 public:
  explicit OrderedHome(std::vector<std::string>& log) : log_(log) {}
  void on_slot_free(std::shared_ptr<WorkerSlot>) override { log_.push_back("home:free"); }
  void on_exchange_end(std::shared_ptr<WorkerSlot>, ExchangeEnd&& end) override {
    log_.push_back(std::string("home:end:") + (end.fate == SlotFate::Free ? "free" : "withheld"));
  }

 private:
  std::vector<std::string>& log_;
};

class SlotReturnTest : public ::testing::Test {
 protected:
  void SetUp() override { make_slot(ms{0}); }
  void TearDown() override { pair_.shutdown(io_); }
  void make_slot(ms timeout) {
    pair_.shutdown(io_);
    pair_ = SlotPair::make(io_, &owner_, /*worker_id=*/7, /*index=*/0, timeout, &home_);
  }
  WorkerSlot& slot() { return *pair_.slot; }
  FakeWorker& worker() { return *pair_.worker; }
  bool wait_ends(std::size_t n) {
    return run_until(io_, [&] { return home_.ends.size() >= n; });
  }
  void send(const std::string& method, Retryable retryable = Retryable::No) {
    slot().send(make_request(method, "/r"), "PATH_INFO\0/r"s, sink_, false, retryable);
    ASSERT_TRUE(worker().await_request(io_));
  }

  boost::asio::io_context io_;
  RecordingOwner owner_;
  RecordingHome home_;
  SlotPair pair_;
  std::shared_ptr<RecordingSink> sink_ = std::make_shared<RecordingSink>();
};

TEST_F(SlotReturnTest, AnsweredExchangeIsDoneAndTheOwnerDecidesTheFate) {
  owner_.fate = SlotFate::Free;  // a Ready worker
  send("GET");
  worker().respond("200 OK", "hi");
  ASSERT_TRUE(wait_ends(1));
  EXPECT_EQ(home_.ends[0].outcome, ExchangeOutcome::Done);
  EXPECT_EQ(home_.ends[0].fate, SlotFate::Free);
  EXPECT_EQ(home_.ends[0].request, nullptr);  // nothing handed back
  ASSERT_EQ(home_.free.size(), 1u);
  EXPECT_EQ(home_.free[0], pair_.slot);
  EXPECT_EQ(owner_.outcomes, (std::vector<Outcome>{Outcome::Ok}));  // observed once

  owner_.fate = SlotFate::Withheld;  // its worker is stopping (draining, ejected)
  sink_ = std::make_shared<RecordingSink>();
  send("GET");
  worker().respond("200 OK", "again");
  ASSERT_TRUE(wait_ends(2));
  EXPECT_EQ(home_.ends[1].outcome, ExchangeOutcome::Done);
  EXPECT_EQ(home_.ends[1].fate, SlotFate::Withheld);
  EXPECT_EQ(home_.free.size(), 1u);  // not offered again
  EXPECT_EQ(slot().state(), State::Idle);
}

TEST_F(SlotReturnTest, AppAbortedIsDone) {
  send("GET");
  worker().send(FrameType::ResponseStart, "200 OK");
  worker().send(FrameType::ResponseEnd, "", kFlagAborted);
  ASSERT_TRUE(wait_ends(1));
  EXPECT_EQ(home_.ends[0].outcome, ExchangeOutcome::Done);
  EXPECT_EQ(owner_.outcomes, (std::vector<Outcome>{Outcome::AppAborted}));
}

TEST_F(SlotReturnTest, OwnerIsAskedBeforeTheHomeIsTold) {
  std::vector<std::string> log;
  OrderedOwner owner(log);
  OrderedHome home(log);
  pair_.shutdown(io_);
  pair_ = SlotPair::make(io_, &owner, 7, 0, ms{0}, &home);
  send("GET");
  worker().respond("200 OK", "x");
  ASSERT_TRUE(run_until(io_, [&] { return log.size() >= 2; }));
  EXPECT_EQ(log, (std::vector<std::string>{"owner:ok:idle", "home:end:free"}));
}

TEST_F(SlotReturnTest, LostWorkerIsFailedWith502WhenNotRetryable) {
  owner_.fate = SlotFate::Free;  // whatever the owner says, a lost slot is Closed
  send("POST");
  worker().close();
  ASSERT_TRUE(wait_ends(1));
  EXPECT_EQ(home_.ends[0].outcome, ExchangeOutcome::Failed);
  EXPECT_EQ(home_.ends[0].request, nullptr);
  EXPECT_EQ(sink_->status, 502);
  EXPECT_EQ(owner_.outcomes, (std::vector<Outcome>{Outcome::WorkerLost}));
  EXPECT_EQ(slot().state(), State::Closed);
}

TEST_F(SlotReturnTest, LostWorkerHandsARetryableRequestBack) {
  send("GET", Retryable::Yes);
  worker().close();
  ASSERT_TRUE(wait_ends(1));
  const ExchangeEnd& end = home_.ends[0];
  EXPECT_EQ(end.outcome, ExchangeOutcome::Retry);
  EXPECT_EQ(end.fate, SlotFate::Withheld);
  ASSERT_NE(end.request, nullptr);
  EXPECT_EQ(end.request->method, "GET");
  EXPECT_EQ(end.request->target, "/r");
  EXPECT_EQ(end.env_block, "PATH_INFO\0/r"s);  // the environ as sent, without the frame header
  EXPECT_EQ(end.sink, sink_);
  EXPECT_EQ(sink_->starts, 0);  // the client has heard nothing: it may be sent elsewhere
  EXPECT_EQ(sink_->finishes, 0);
  EXPECT_EQ(owner_.outcomes, (std::vector<Outcome>{Outcome::WorkerLost}));  // still counted by its worker
  EXPECT_EQ(slot().state(), State::Closed);
}

TEST_F(SlotReturnTest, LostWorkerIsNotHandedBackOnceTheResponseStarted) {
  send("GET", Retryable::Yes);
  worker().send(FrameType::ResponseStart, "200 OK");
  ASSERT_TRUE(run_until(io_, [&] { return sink_->starts == 1; }));
  worker().close();
  ASSERT_TRUE(wait_ends(1));
  EXPECT_EQ(home_.ends[0].outcome, ExchangeOutcome::Failed);
  EXPECT_EQ(home_.ends[0].request, nullptr);
  EXPECT_EQ(sink_->finished_ok, false);  // cut
}

TEST_F(SlotReturnTest, LostWorkerIsNotHandedBackWhenTheClientLeft) {
  send("GET", Retryable::Yes);
  sink_->gone = true;
  worker().close();
  ASSERT_TRUE(wait_ends(1));
  EXPECT_EQ(home_.ends[0].outcome, ExchangeOutcome::Failed);
  EXPECT_EQ(home_.ends[0].request, nullptr);
}

TEST_F(SlotReturnTest, LostWorkerWithoutAHomeAnswers502) {
  // Nobody could take the request back: the client must not be left hanging.
  pair_.shutdown(io_);
  pair_ = SlotPair::make(io_, &owner_, 7, 0, ms{0}, nullptr);
  send("GET", Retryable::Yes);
  worker().close();
  ASSERT_TRUE(run_until(io_, [&] { return sink_->finished(); }));
  EXPECT_EQ(sink_->status, 502);
}

TEST_F(SlotReturnTest, LostAfterTheWholeDeclaredBodyIsDone) {
  send("GET", Retryable::Yes);
  worker().send(FrameType::ResponseStart, "200 OK\0Content-Length\0002"s);
  worker().send(FrameType::ResponseBody, "ok");
  ASSERT_TRUE(run_until(io_, [&] { return sink_->body_text == "ok"; }));
  worker().close();
  ASSERT_TRUE(wait_ends(1));
  EXPECT_EQ(home_.ends[0].outcome, ExchangeOutcome::Done);  // the response stands
  EXPECT_EQ(sink_->finished_ok, true);
}

TEST_F(SlotReturnTest, TimeoutIsFailedWith504) {
  make_slot(ms{30});
  owner_.fate = SlotFate::Free;
  send("GET", Retryable::Yes);  // a timeout is never retried: the app may have acted on it
  ASSERT_TRUE(wait_ends(1));
  EXPECT_EQ(home_.ends[0].outcome, ExchangeOutcome::Failed);
  EXPECT_EQ(home_.ends[0].request, nullptr);
  EXPECT_EQ(sink_->status, 504);
  EXPECT_EQ(slot().state(), State::Broken);
}

TEST_F(SlotReturnTest, ProtocolErrorIsFailedWith502) {
  send("GET", Retryable::Yes);
  worker().send(FrameType::ResponseEnd, "");  // END without START
  ASSERT_TRUE(wait_ends(1));
  EXPECT_EQ(home_.ends[0].outcome, ExchangeOutcome::Failed);
  EXPECT_EQ(sink_->status, 502);
  EXPECT_EQ(owner_.outcomes, (std::vector<Outcome>{Outcome::ProtocolError}));
}

TEST_F(SlotReturnTest, DetachedSlotStillHandsBackToItsHome) {
  // The worker is going away (Worker::close_slots detaches, then closes): its
  // owner hears nothing more, but a retryable request must still go elsewhere.
  send("GET", Retryable::Yes);
  slot().detach();
  slot().close();
  ASSERT_EQ(home_.ends.size(), 1u);
  EXPECT_EQ(home_.ends[0].outcome, ExchangeOutcome::Retry);
  EXPECT_EQ(home_.ends[0].fate, SlotFate::Withheld);
  EXPECT_TRUE(owner_.outcomes.empty());
}

}  // namespace
}  // namespace hearth::supervisor
