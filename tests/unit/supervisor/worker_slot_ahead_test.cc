// Dispatch ahead (WorkerSlot::AheadState, docs/worker-protocol.md "Dispatch
// ahead"): a busy WSGI slot given its next request before its response ended.
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
using hearth::testing::run_for;
using hearth::testing::run_until;
using hearth::testing::SlotPair;
using Outcome = WorkerSlot::Outcome;
using State = WorkerSlot::State;
using Ahead = WorkerSlot::AheadState;
using ms = std::chrono::milliseconds;

const std::string kEnv1 = "REQUEST_METHOD\0GET\0PATH_INFO\0/one"s;
const std::string kEnv2 = "REQUEST_METHOD\0POST\0PATH_INFO\0/two"s;
const std::string kOk = "200 OK\0Content-Length\0002"s;

class AheadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    owner_.ahead_ok = true;
    owner_.fate = SlotFate::Free;
    make_slot(ms{0});
  }
  void TearDown() override { pair_.shutdown(io_); }
  void make_slot(ms timeout, bool on = true) {
    pair_.shutdown(io_);
    pair_ = SlotPair::make(io_, &owner_, 4, 0, timeout, &home_);
    pair_.slot->set_dispatch_ahead(on);
  }
  WorkerSlot& slot() { return *pair_.slot; }
  FakeWorker& worker() { return *pair_.worker; }
  // The first request goes out; the slot asks for one ahead; the second is sent ahead.
  void send_two(Retryable second = Retryable::No, std::string_view body2 = "xy") {
    slot().send(make_request("GET", "/one"), kEnv1, sink1_);
    ASSERT_EQ(home_.ahead_wanted.size(), 1u);
    ASSERT_TRUE(slot().can_take_ahead());
    // A POST with a body: the Dispatcher sends only bodiless safe methods ahead
    // (ahead_eligible), but the slot's mechanics do not depend on the method.
    auto r2 = make_request("POST", "/two", body2);
    slot().send_ahead(r2, kEnv2, sink2_, second);
    EXPECT_EQ(slot().ahead_state(), Ahead::Written);
    EXPECT_FALSE(slot().can_take_ahead());  // one at a time
  }

  boost::asio::io_context io_;
  RecordingOwner owner_;
  RecordingHome home_;
  SlotPair pair_;
  std::shared_ptr<RecordingSink> sink1_ = std::make_shared<RecordingSink>();
  std::shared_ptr<RecordingSink> sink2_ = std::make_shared<RecordingSink>();
};

TEST_F(AheadTest, TheWorkerFindsTheNextRequestBufferedAndServesBoth) {
  send_two();
  // Both requests are in the worker's socket before it answered the first.
  auto r1 = worker().await_request(io_);
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->environ, kEnv1);
  auto r2 = worker().await_request(io_);
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->environ, kEnv2);
  EXPECT_EQ(r2->body, "xy");
  EXPECT_EQ(owner_.starts, 1);  // the second has not started

  worker().respond(kOk, "r1");
  ASSERT_TRUE(run_until(io_, [&] { return sink1_->finished(); }));
  EXPECT_EQ(sink1_->body_text, "r1");
  EXPECT_TRUE(*sink1_->finished_ok);
  // The first exchange ended as usual; the second is the slot's current one now.
  ASSERT_EQ(home_.ends.size(), 1u);
  EXPECT_TRUE(home_.ends[0].ahead_started);
  EXPECT_FALSE(home_.ends[0].ahead);
  EXPECT_EQ(slot().state(), State::Busy);
  EXPECT_EQ(slot().ahead_state(), Ahead::None);
  EXPECT_EQ(slot().current_request_line(), "POST /two");
  EXPECT_EQ(owner_.starts, 2);
  // It asks for the next one at once.
  EXPECT_EQ(home_.ahead_wanted.size(), 2u);
  EXPECT_TRUE(slot().can_take_ahead());

  worker().respond(kOk, "r2");
  ASSERT_TRUE(run_until(io_, [&] { return sink2_->finished(); }));
  EXPECT_EQ(sink2_->body_text, "r2");
  EXPECT_EQ(slot().state(), State::Idle);
  EXPECT_EQ(owner_.outcomes, (std::vector<Outcome>{Outcome::Ok, Outcome::Ok}));
  ASSERT_EQ(home_.ends.size(), 2u);
  EXPECT_FALSE(home_.ends[1].ahead_started);
}

TEST_F(AheadTest, BothResponsesInOneReadAreBothDelivered) {
  send_two();
  ASSERT_TRUE(worker().await_request(io_));
  ASSERT_TRUE(worker().await_request(io_));
  std::string out = encode_frame(FrameType::ResponseStart, kOk) + encode_frame(FrameType::ResponseBody, "r1") +
                    encode_frame(FrameType::ResponseEnd, "") + encode_frame(FrameType::ResponseStart, kOk) +
                    encode_frame(FrameType::ResponseBody, "r2") + encode_frame(FrameType::ResponseEnd, "");
  worker().send_raw(out);
  ASSERT_TRUE(run_until(io_, [&] { return sink2_->finished(); }));
  EXPECT_EQ(sink1_->body_text, "r1");
  EXPECT_EQ(sink2_->body_text, "r2");
  EXPECT_EQ(slot().state(), State::Idle);
}

TEST_F(AheadTest, OffOrRefusedByTheOwnerNothingIsAsked) {
  make_slot(ms{0}, /*on=*/false);
  slot().send(make_request("GET", "/one"), kEnv1, sink1_);
  EXPECT_TRUE(home_.ahead_wanted.empty());
  EXPECT_FALSE(slot().can_take_ahead());
  worker().respond(kOk, "r1");
  ASSERT_TRUE(run_until(io_, [&] { return sink1_->finished(); }));

  make_slot(ms{0}, /*on=*/true);
  owner_.ahead_ok = false;  // a worker marked for recycling, draining...
  auto sink = std::make_shared<RecordingSink>();
  slot().send(make_request("GET", "/one"), kEnv1, sink);
  EXPECT_EQ(home_.ahead_wanted.size(), 1u);  // asked (cheaply); the Home checks before it sends
  EXPECT_FALSE(slot().can_take_ahead());
}

TEST_F(AheadTest, OnlySafeMethodsWithoutABodyQualify) {
  EXPECT_TRUE(WorkerSlot::ahead_eligible(*make_request("GET", "/")));
  EXPECT_TRUE(WorkerSlot::ahead_eligible(*make_request("HEAD", "/")));
  EXPECT_TRUE(WorkerSlot::ahead_eligible(*make_request("OPTIONS", "/")));
  EXPECT_FALSE(WorkerSlot::ahead_eligible(*make_request("GET", "/", "x")));
  EXPECT_FALSE(WorkerSlot::ahead_eligible(*make_request("POST", "/")));
  EXPECT_FALSE(WorkerSlot::ahead_eligible(*make_request("PUT", "/")));
  EXPECT_FALSE(WorkerSlot::ahead_eligible(*make_request("DELETE", "/")));
  EXPECT_FALSE(WorkerSlot::ahead_eligible(*make_request("get", "/")));
}

// --- Taking a request queued ahead back (withdraw_ahead) ---

TEST_F(AheadTest, AWithdrawnRequestIsFollowedByClientGoneAndItsAnswerDiscarded) {
  slot().send(make_request("GET", "/one"), kEnv1, sink1_);
  EXPECT_FALSE(slot().withdraw_ahead());  // nothing queued ahead
  slot().send_ahead(make_request("GET", "/two"), kEnv2, sink2_);
  const uint64_t seq = slot().ahead_seq();
  EXPECT_TRUE(slot().holds_ahead());
  auto u = slot().withdraw_ahead();
  ASSERT_TRUE(u);
  EXPECT_EQ(u->sink, sink2_);
  EXPECT_EQ(u->env_block, kEnv2);
  EXPECT_EQ(u->request->target, "/two");
  EXPECT_EQ(slot().ahead_state(), Ahead::Withdrawn);
  EXPECT_FALSE(slot().holds_ahead());
  EXPECT_EQ(slot().ahead_seq(), seq);
  EXPECT_FALSE(slot().withdraw_ahead());  // once
  EXPECT_FALSE(slot().can_take_ahead());  // still one behind the current one

  // The worker's socket: /one, /two, then the CLIENT_GONE that applies to /two.
  ASSERT_TRUE(worker().await_request(io_));
  auto r2 = worker().await_request(io_);
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->environ, kEnv2);
  ASSERT_TRUE(worker().await_client_gone(io_));

  worker().respond(kOk, "r1");
  worker().send(FrameType::ResponseEnd, "");  // the runtime skips a request whose CLIENT_GONE it finds
  ASSERT_TRUE(run_until(io_, [&] { return slot().state() == State::Idle; }));
  EXPECT_EQ(sink1_->body_text, "r1");
  EXPECT_TRUE(*sink1_->finished_ok);
  EXPECT_EQ(sink2_->starts, 0);  // its new slot answers it, never this one
  EXPECT_FALSE(sink2_->finished());
  ASSERT_EQ(home_.ends.size(), 2u);
  EXPECT_FALSE(home_.ends[0].ahead_started);  // the Home counted it out when it took it back
  EXPECT_EQ(owner_.outcomes, (std::vector<Outcome>{Outcome::Ok, Outcome::Ok}));
  EXPECT_TRUE(slot().last_internal());  // the discarded exchange is the daemon's own
}

TEST_F(AheadTest, AWithdrawnRequestTheWorkerHadStartedIsAnsweredIntoNothing) {
  slot().send(make_request("GET", "/one"), kEnv1, sink1_);
  slot().send_ahead(make_request("GET", "/two"), kEnv2, sink2_);
  ASSERT_TRUE(slot().withdraw_ahead());
  // The worker had read /two before the CLIENT_GONE came: it runs it (a GET).
  worker().respond(kOk, "r1");
  worker().respond(kOk, "r2");
  ASSERT_TRUE(run_until(io_, [&] { return slot().state() == State::Idle; }));
  EXPECT_EQ(sink1_->body_text, "r1");
  EXPECT_EQ(sink2_->starts, 0);
  EXPECT_EQ(sink2_->body_text, "");
  EXPECT_EQ(owner_.outcomes, (std::vector<Outcome>{Outcome::Ok, Outcome::Ok}));
}

TEST_F(AheadTest, AWorkerLostWithAWithdrawnRequestHandsNothingBack) {
  slot().send(make_request("GET", "/one"), kEnv1, sink1_);
  slot().send_ahead(make_request("GET", "/two"), kEnv2, sink2_);
  ASSERT_TRUE(slot().withdraw_ahead());
  ASSERT_TRUE(worker().await_request(io_));
  worker().close();
  ASSERT_TRUE(run_until(io_, [&] { return sink1_->finished(); }));
  EXPECT_EQ(sink1_->status, 502);
  ASSERT_EQ(home_.ends.size(), 1u);
  EXPECT_FALSE(home_.ends[0].ahead);  // taken back already: not handed back twice
  EXPECT_EQ(slot().ahead_state(), Ahead::None);
  EXPECT_FALSE(sink2_->finished());
}

TEST_F(AheadTest, TheCurrentClientLeavingTakesTheAheadRequestBackThenSendsItsClientGone) {
  slot().send(make_request("GET", "/one"), kEnv1, sink1_);
  slot().send_ahead(make_request("GET", "/two"), kEnv2, sink2_);
  ASSERT_TRUE(worker().await_request(io_));
  ASSERT_TRUE(worker().await_request(io_));
  sink1_->leave();  // the current request's client goes away
  ASSERT_EQ(home_.blocked.size(), 1u);
  ASSERT_TRUE(home_.blocked[0]);
  EXPECT_EQ(home_.blocked[0]->sink, sink2_);
  EXPECT_EQ(slot().ahead_state(), Ahead::Withdrawn);
  // /two's CLIENT_GONE, then /one's: the worker skips the pair and sees the second.
  ASSERT_TRUE(worker().await_client_gone(io_));
  ASSERT_TRUE(worker().await_client_gone(io_));
  worker().send(FrameType::ResponseEnd, "");  // /one, stopped
  worker().send(FrameType::ResponseEnd, "");  // the bare END it owed for /two
  ASSERT_TRUE(run_until(io_, [&] { return slot().state() == State::Idle; }));
  EXPECT_EQ(owner_.outcomes, (std::vector<Outcome>{Outcome::Ok, Outcome::Ok}));
  EXPECT_EQ(sink2_->starts, 0);
}

TEST_F(AheadTest, AStreamedResponseSendsTheAheadRequestElsewhereAndTakesNoMore) {
  slot().send(make_request("GET", "/one"), kEnv1, sink1_);
  slot().send_ahead(make_request("GET", "/two"), kEnv2, sink2_);
  worker().send(FrameType::ResponseStart, kOk, kFlagStream);
  ASSERT_TRUE(run_until(io_, [&] { return !home_.blocked.empty(); }));
  ASSERT_TRUE(home_.blocked[0]);  // taken back at once: a stream may last
  EXPECT_EQ(slot().ahead_state(), Ahead::Withdrawn);
  worker().send(FrameType::ResponseBody, "r1");
  worker().send(FrameType::ResponseEnd, "");  // /one's stream ends
  worker().send(FrameType::ResponseEnd, "");  // /two, skipped
  ASSERT_TRUE(run_until(io_, [&] { return slot().state() == State::Idle; }));
  EXPECT_EQ(sink1_->body_text, "r1");
  EXPECT_EQ(sink2_->starts, 0);

  auto sink3 = std::make_shared<RecordingSink>();
  slot().send(make_request("GET", "/three"), kEnv1, sink3);
  EXPECT_TRUE(slot().can_take_ahead());
  worker().send(FrameType::ResponseStart, kOk, kFlagStream);
  ASSERT_TRUE(run_until(io_, [&] { return sink3->starts > 0; }));
  EXPECT_FALSE(slot().can_take_ahead());  // nothing goes ahead behind a stream
}

TEST_F(AheadTest, ATimeoutWithAWithdrawnRequestIsNotDeferred) {
  make_slot(ms{100});
  slot().send(make_request("GET", "/one"), kEnv1, sink1_);
  slot().send_ahead(make_request("GET", "/two"), kEnv2, sink2_);
  ASSERT_TRUE(slot().withdraw_ahead());
  ASSERT_TRUE(run_until(io_, [&] { return sink1_->finished(); }));
  EXPECT_EQ(sink1_->status, 504);
  ASSERT_EQ(home_.ends.size(), 1u);
  EXPECT_FALSE(home_.ends[0].ahead);
  EXPECT_EQ(slot().state(), State::Broken);
}

TEST_F(AheadTest, WorkerDiesDuringTheCurrentRequestTheAheadOneIsHandedBackUnstarted) {
  send_two(Retryable::No);  // a POST: it would never be retried, but it never started
  ASSERT_TRUE(worker().await_request(io_));
  worker().close();
  ASSERT_TRUE(run_until(io_, [&] { return sink1_->finished(); }));
  EXPECT_EQ(sink1_->status, 502);
  ASSERT_EQ(home_.ends.size(), 1u);
  auto& end = home_.ends[0];
  EXPECT_EQ(end.outcome, ExchangeOutcome::Failed);
  ASSERT_TRUE(end.ahead);
  EXPECT_EQ(end.ahead->request->target, "/two");
  EXPECT_EQ(end.ahead->env_block, kEnv2);
  EXPECT_EQ(end.ahead->sink, sink2_);
  EXPECT_EQ(end.ahead->retryable, Retryable::No);
  EXPECT_EQ(sink2_->starts, 0);
  EXPECT_FALSE(sink2_->finished());  // untouched: the Home sends it elsewhere
  EXPECT_EQ(slot().ahead_state(), Ahead::None);
  EXPECT_EQ(owner_.starts, 1);
}

TEST_F(AheadTest, RetryableCurrentAndAheadAreBothHandedBack) {
  slot().send(make_request("GET", "/one"), kEnv1, sink1_, false, Retryable::Yes);
  slot().send_ahead(make_request("GET", "/two"), kEnv2, sink2_, Retryable::Yes);
  ASSERT_TRUE(worker().await_request(io_));
  worker().close();
  ASSERT_TRUE(run_until(io_, [&] { return home_.ends.size() == 1; }));
  auto& end = home_.ends[0];
  EXPECT_EQ(end.outcome, ExchangeOutcome::Retry);
  EXPECT_EQ(end.request->target, "/one");
  ASSERT_TRUE(end.ahead);
  EXPECT_EQ(end.ahead->request->target, "/two");
  EXPECT_EQ(end.ahead->retryable, Retryable::Yes);
  EXPECT_FALSE(sink1_->finished());
  EXPECT_FALSE(sink2_->finished());
}

TEST_F(AheadTest, WorkerDiesAfterTheCurrentEndTheAheadOneIsTheCurrentOne) {
  // The END was read: the worker may have started it. Today's rule for a current
  // request applies (502, or a retry if its method allows).
  send_two(Retryable::No);
  ASSERT_TRUE(worker().await_request(io_));
  worker().respond(kOk, "r1");
  ASSERT_TRUE(run_until(io_, [&] { return sink1_->finished(); }));
  worker().close();
  ASSERT_TRUE(run_until(io_, [&] { return sink2_->finished(); }));
  EXPECT_EQ(sink2_->status, 502);
  ASSERT_EQ(home_.ends.size(), 2u);
  EXPECT_FALSE(home_.ends[1].ahead);
}

TEST_F(AheadTest, TimeoutOfTheCurrentRequestHandsTheAheadOneBack) {
  make_slot(ms{60});
  send_two();
  ASSERT_TRUE(run_until(io_, [&] { return sink1_->finished(); }));
  EXPECT_EQ(sink1_->status, 504);
  EXPECT_EQ(slot().state(), State::Broken);
  ASSERT_EQ(home_.ends.size(), 1u);
  ASSERT_TRUE(home_.ends[0].ahead);
  EXPECT_EQ(home_.ends[0].ahead->request->target, "/two");
  EXPECT_FALSE(sink2_->finished());
  EXPECT_EQ(owner_.outcomes, (std::vector<Outcome>{Outcome::Timeout}));
}

TEST_F(AheadTest, TheAheadRequestsTimeoutStartsWhenItBecomesCurrent) {
  make_slot(ms{300});
  send_two();
  ASSERT_TRUE(worker().await_request(io_));
  run_for(io_, ms{200});  // the first takes 200 ms of its 300
  worker().respond(kOk, "r1");
  ASSERT_TRUE(run_until(io_, [&] { return sink1_->finished(); }));
  EXPECT_EQ(sink1_->status, 200);
  EXPECT_LT(slot().busy_for(), ms{150});  // busy_for counts from the promotion
  run_for(io_, ms{200});  // 400 ms after it was written, 200 ms after it started
  EXPECT_FALSE(sink2_->finished());
  worker().respond(kOk, "r2");
  ASSERT_TRUE(run_until(io_, [&] { return sink2_->finished(); }));
  EXPECT_EQ(sink2_->status, 200);
  EXPECT_EQ(owner_.outcomes, (std::vector<Outcome>{Outcome::Ok, Outcome::Ok}));
}

TEST_F(AheadTest, NoClientGoneForTheCurrentRequestWhileOneStaysQueuedBehindIt) {
  home_.take_back = false;  // the Home cannot take it back (as when withdraw_ahead refuses)
  send_two();
  ASSERT_TRUE(worker().await_request(io_));
  ASSERT_TRUE(worker().await_request(io_));
  sink1_->leave();
  run_for(io_, ms{20});
  worker().pump();
  EXPECT_EQ(worker().inbox(), "");  // no CLIENT_GONE: the worker would take it for /two's
  // The worker finishes /one; the daemon discards it; /two runs normally.
  worker().respond(kOk, "r1");
  ASSERT_TRUE(run_until(io_, [&] { return sink1_->finished(); }));
  EXPECT_EQ(sink1_->body_text, "");
  worker().respond(kOk, "r2");
  ASSERT_TRUE(run_until(io_, [&] { return sink2_->finished(); }));
  EXPECT_EQ(sink2_->body_text, "r2");
}

TEST_F(AheadTest, AnAheadRequestWhoseClientLeftGetsClientGoneWhenItStarts) {
  send_two();
  ASSERT_TRUE(worker().await_request(io_));
  ASSERT_TRUE(worker().await_request(io_));
  sink2_->gone = true;  // left while queued ahead (nobody watches it yet)
  worker().respond(kOk, "r1");
  ASSERT_TRUE(run_until(io_, [&] { return sink1_->finished(); }));
  const std::string gone = encode_frame(FrameType::ClientGone, "");
  EXPECT_TRUE(run_until(io_, [&] {
    worker().pump();
    return worker().inbox() == gone;
  }));
  // The worker may end it without a response.
  worker().send(FrameType::ResponseEnd, "");
  ASSERT_TRUE(run_until(io_, [&] { return slot().state() == State::Idle; }));
  EXPECT_TRUE(sink2_->finished());
}

}  // namespace
}  // namespace hearth::supervisor
