#include "supervisor/worker_slot.h"

#include <stdlib.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

#include "slot_harness.h"

namespace hearth::supervisor {
namespace {

using namespace std::string_literals;
using hearth::testing::FakeWorker;
using hearth::testing::make_request;
using hearth::testing::RecordingOwner;
using hearth::testing::RecordingSink;
using hearth::testing::run_for;
using hearth::testing::run_until;
using hearth::testing::SlotPair;
using Outcome = WorkerSlot::Outcome;
using State = WorkerSlot::State;
using ms = std::chrono::milliseconds;

class WorkerSlotTest : public ::testing::Test {
 protected:
  void SetUp() override { make_slot(ms{0}); }
  void TearDown() override { pair_.shutdown(io_); }
  void make_slot(ms timeout) {
    pair_.shutdown(io_);
    pair_ = SlotPair::make(io_, &owner_, /*worker_id=*/3, /*index=*/0, timeout);
  }
  WorkerSlot& slot() { return *pair_.slot; }
  FakeWorker& worker() { return *pair_.worker; }
  bool wait_finished() {
    return run_until(io_, [&] { return sink_->finished(); });
  }
  bool wait_outcomes(std::size_t n) {
    return run_until(io_, [&] { return owner_.outcomes.size() >= n; });
  }

  boost::asio::io_context io_;
  RecordingOwner owner_;
  SlotPair pair_;
  std::shared_ptr<RecordingSink> sink_ = std::make_shared<RecordingSink>();
};

const std::string kEnv = "REQUEST_METHOD\0POST\0PATH_INFO\0/x\0QUERY_STRING\0a=1"s;

TEST_F(WorkerSlotTest, FullExchange) {
  EXPECT_EQ(slot().state(), State::Idle);
  EXPECT_EQ(slot().worker_id(), 3);
  slot().send(make_request("POST", "/x?a=1", "hello=world"), kEnv, sink_);
  EXPECT_EQ(slot().state(), State::Busy);
  EXPECT_EQ(slot().current_request_line(), "POST /x?a=1");

  auto req = worker().await_request(io_);
  ASSERT_TRUE(req);
  EXPECT_EQ(req->header.type, FrameType::Request);
  EXPECT_EQ(req->header.flags, 0);
  EXPECT_EQ(req->header.length, kEnv.size());
  EXPECT_EQ(req->header.aux, 11u);
  EXPECT_EQ(req->environ, kEnv);
  EXPECT_EQ(req->body, "hello=world");
  EXPECT_EQ(worker().inbox(), "");  // nothing beyond the request

  // Nothing happens to the sink until the worker answers.
  run_for(io_, ms{20});
  EXPECT_EQ(sink_->starts, 0);
  EXPECT_EQ(slot().state(), State::Busy);

  std::string out = encode_frame(FrameType::ResponseStart, "201 Created\0Content-Type\0text/plain\0X-A\0 1"s) +
                    encode_frame(FrameType::ResponseBody, "hi ") + encode_frame(FrameType::ResponseBody, "there") +
                    encode_frame(FrameType::ResponseEnd, "");
  worker().send_raw(out);
  ASSERT_TRUE(wait_outcomes(1));

  EXPECT_EQ(sink_->starts, 1);
  EXPECT_EQ(sink_->status, 201);
  EXPECT_EQ(sink_->reason, "Created");
  ASSERT_EQ(sink_->headers.size(), 2u);
  EXPECT_EQ(sink_->headers[0].name, "Content-Type");
  EXPECT_EQ(sink_->headers[0].value, "text/plain");
  EXPECT_EQ(sink_->headers[1].name, "X-A");
  EXPECT_EQ(sink_->headers[1].value, " 1");
  EXPECT_EQ(sink_->body_text, "hi there");
  EXPECT_EQ(sink_->finishes, 1);
  EXPECT_EQ(sink_->finished_ok, true);
  EXPECT_EQ(owner_.outcomes, (std::vector<Outcome>{Outcome::Ok}));
  EXPECT_EQ(slot().state(), State::Idle);
  EXPECT_EQ(slot().current_request_line(), "");
  EXPECT_EQ(slot().busy_for(), ms{0});
  EXPECT_EQ(owner_.closed, 0);
}

TEST_F(WorkerSlotTest, SlotIsReusedForTheNextRequest) {
  for (int i = 0; i < 3; ++i) {
    auto sink = std::make_shared<RecordingSink>();
    std::string env = "PATH_INFO\0/"s + std::to_string(i);
    slot().send(make_request("GET", "/" + std::to_string(i)), env, sink);
    auto req = worker().await_request(io_);
    ASSERT_TRUE(req);
    EXPECT_EQ(req->environ, env);
    EXPECT_EQ(req->header.aux, 0u);
    EXPECT_EQ(req->body, "");
    worker().respond("200 OK", "r" + std::to_string(i));
    ASSERT_TRUE(run_until(io_, [&] { return owner_.outcomes.size() == static_cast<std::size_t>(i + 1); }));
    EXPECT_EQ(sink->body_text, "r" + std::to_string(i));
    EXPECT_EQ(sink->finished_ok, true);
    EXPECT_EQ(slot().state(), State::Idle);
  }
}

TEST_F(WorkerSlotTest, FullSinkPausesReadingUntilWritable) {
  sink_->fill_after_body = true;
  slot().send(make_request("GET", "/"), "PATH_INFO\0/"s, sink_);
  ASSERT_TRUE(worker().await_request(io_));
  worker().send_raw(encode_frame(FrameType::ResponseStart, "200 OK"s) + encode_frame(FrameType::ResponseBody, "one"));
  ASSERT_TRUE(run_until(io_, [&] { return sink_->body_text == "one"; }));
  ASSERT_TRUE(sink_->writable) << "the slot did not wait for the sink";
  // The worker goes on writing; the slot does not read it while the sink is full.
  worker().send_raw(encode_frame(FrameType::ResponseBody, "two") + encode_frame(FrameType::ResponseEnd, ""));
  run_for(io_, ms{50});
  EXPECT_EQ(sink_->body_text, "one");
  EXPECT_EQ(sink_->finishes, 0);
  EXPECT_EQ(slot().state(), State::Busy);
  // The client read: the sink calls back and the rest arrives.
  sink_->fill_after_body = false;
  sink_->is_full = false;
  auto cb = std::move(sink_->writable);
  cb();
  ASSERT_TRUE(wait_outcomes(1));
  EXPECT_EQ(sink_->body_text, "onetwo");
  EXPECT_EQ(sink_->finished_ok, true);
  EXPECT_EQ(owner_.outcomes[0], Outcome::Ok);
}

TEST_F(WorkerSlotTest, EmptyBodyResponse) {
  slot().send(make_request("GET", "/"), "PATH_INFO\0/"s, sink_);
  ASSERT_TRUE(worker().await_request(io_));
  worker().respond("204 No Content", "");
  ASSERT_TRUE(wait_outcomes(1));
  EXPECT_EQ(sink_->status, 204);
  EXPECT_EQ(sink_->body_text, "");
  EXPECT_EQ(sink_->finished_ok, true);
  EXPECT_EQ(owner_.outcomes[0], Outcome::Ok);
}

TEST_F(WorkerSlotTest, WorkerReadyAndFailedGoToTheOwner) {
  worker().send(FrameType::WorkerReady, R"({"pid":123,"worker_id":3,"boot_ms":12})");
  ASSERT_TRUE(run_until(io_, [&] { return !owner_.ready.empty(); }));
  EXPECT_EQ(owner_.ready, (std::vector<std::string>{R"({"pid":123,"worker_id":3,"boot_ms":12})"}));
  worker().send(FrameType::WorkerFailed, "Traceback: boom");
  ASSERT_TRUE(run_until(io_, [&] { return !owner_.failed.empty(); }));
  EXPECT_EQ(owner_.failed, (std::vector<std::string>{"Traceback: boom"}));
  EXPECT_EQ(slot().state(), State::Idle);
  EXPECT_TRUE(owner_.outcomes.empty());
}

TEST_F(WorkerSlotTest, AbortedEndBreaksTheResponse) {
  slot().send(make_request("GET", "/"), "PATH_INFO\0/"s, sink_);
  ASSERT_TRUE(worker().await_request(io_));
  worker().respond("200 OK\0Content-Length\0" "100"s, "partial", kFlagAborted);
  ASSERT_TRUE(wait_outcomes(1));
  EXPECT_EQ(sink_->starts, 1);
  EXPECT_EQ(sink_->status, 200);
  EXPECT_EQ(sink_->body_text, "partial");
  EXPECT_EQ(sink_->finishes, 1);
  EXPECT_EQ(sink_->finished_ok, false);
  EXPECT_EQ(owner_.outcomes, (std::vector<Outcome>{Outcome::AppAborted}));
  EXPECT_EQ(slot().state(), State::Idle);  // the worker itself is fine
}

TEST_F(WorkerSlotTest, SocketClosedBeforeStartIs502) {
  slot().send(make_request("GET", "/"), "PATH_INFO\0/"s, sink_);
  ASSERT_TRUE(worker().await_request(io_));
  worker().close();
  ASSERT_TRUE(run_until(io_, [&] { return owner_.closed > 0; }));
  EXPECT_EQ(sink_->starts, 1);
  EXPECT_EQ(sink_->status, 502);
  EXPECT_EQ(sink_->body_text, "Bad Gateway\n");
  EXPECT_EQ(sink_->header("Content-Type"), "text/plain");
  EXPECT_EQ(sink_->finishes, 1);
  EXPECT_EQ(sink_->finished_ok, true);  // a complete 502
  EXPECT_EQ(owner_.outcomes, (std::vector<Outcome>{Outcome::WorkerLost}));
  EXPECT_EQ(owner_.events, (std::vector<std::string>{"done:worker_lost", "closed"}));
  EXPECT_EQ(slot().state(), State::Closed);
}

TEST_F(WorkerSlotTest, SocketClosedAfterStartBreaksTheResponse) {
  slot().send(make_request("GET", "/"), "PATH_INFO\0/"s, sink_);
  ASSERT_TRUE(worker().await_request(io_));
  worker().send(FrameType::ResponseStart, "200 OK");
  worker().send(FrameType::ResponseBody, "some");
  ASSERT_TRUE(run_until(io_, [&] { return sink_->body_text == "some"; }));
  worker().close();
  ASSERT_TRUE(run_until(io_, [&] { return owner_.closed > 0; }));
  EXPECT_EQ(sink_->starts, 1);
  EXPECT_EQ(sink_->status, 200);
  EXPECT_EQ(sink_->body_text, "some");
  EXPECT_EQ(sink_->finishes, 1);
  EXPECT_EQ(sink_->finished_ok, false);
  EXPECT_EQ(owner_.outcomes, (std::vector<Outcome>{Outcome::WorkerLost}));
  EXPECT_EQ(slot().state(), State::Closed);
}

// Issue 16: the worker died after every byte its Content-Length promised, before
// RESPONSE_END. The client has a complete response (whose head promised keep-alive):
// ending it as broken would close the connection under the client's next request.
TEST_F(WorkerSlotTest, SocketClosedAfterTheWholeDeclaredBodyCompletesTheResponse) {
  slot().send(make_request("GET", "/"), "PATH_INFO\0/"s, sink_);
  ASSERT_TRUE(worker().await_request(io_));
  worker().send_raw(encode_frame(FrameType::ResponseStart, "200 OK\0Content-Length\0008"s) +
                    encode_frame(FrameType::ResponseBody, "some") + encode_frame(FrameType::ResponseBody, "more"));
  ASSERT_TRUE(run_until(io_, [&] { return sink_->body_text == "somemore"; }));
  worker().close();
  ASSERT_TRUE(run_until(io_, [&] { return owner_.closed > 0; }));
  EXPECT_EQ(sink_->finishes, 1);
  EXPECT_EQ(sink_->finished_ok, true);
  // The worker is still reported lost (it died; the pool replaces it).
  EXPECT_EQ(owner_.outcomes, (std::vector<Outcome>{Outcome::WorkerLost}));
  EXPECT_EQ(slot().state(), State::Closed);
}

TEST_F(WorkerSlotTest, SocketClosedOneByteShortOfTheDeclaredBodyBreaksTheResponse) {
  slot().send(make_request("GET", "/"), "PATH_INFO\0/"s, sink_);
  ASSERT_TRUE(worker().await_request(io_));
  worker().send_raw(encode_frame(FrameType::ResponseStart, "200 OK\0Content-Length\0009"s) +
                    encode_frame(FrameType::ResponseBody, "somemore"));
  ASSERT_TRUE(run_until(io_, [&] { return sink_->body_text == "somemore"; }));
  worker().close();
  ASSERT_TRUE(run_until(io_, [&] { return owner_.closed > 0; }));
  EXPECT_EQ(sink_->finishes, 1);
  EXPECT_EQ(sink_->finished_ok, false);
}

TEST_F(WorkerSlotTest, SocketClosedAfterABodilessStatusCompletesTheResponse) {
  slot().send(make_request("GET", "/"), "PATH_INFO\0/"s, sink_);
  ASSERT_TRUE(worker().await_request(io_));
  worker().send(FrameType::ResponseStart, "204 No Content");
  ASSERT_TRUE(run_until(io_, [&] { return sink_->starts == 1; }));
  worker().close();
  ASSERT_TRUE(run_until(io_, [&] { return owner_.closed > 0; }));
  EXPECT_EQ(sink_->finished_ok, true);
}

TEST_F(WorkerSlotTest, ConflictingContentLengthsNeverCountAsComplete) {
  slot().send(make_request("GET", "/"), "PATH_INFO\0/"s, sink_);
  ASSERT_TRUE(worker().await_request(io_));
  worker().send_raw(encode_frame(FrameType::ResponseStart, "200 OK\0Content-Length\0004\0Content-Length\0009"s) +
                    encode_frame(FrameType::ResponseBody, "some"));
  ASSERT_TRUE(run_until(io_, [&] { return sink_->body_text == "some"; }));
  worker().close();
  ASSERT_TRUE(run_until(io_, [&] { return owner_.closed > 0; }));
  EXPECT_EQ(sink_->finished_ok, false);
}

TEST_F(WorkerSlotTest, NextExchangeStartsWithNoBodyCounted) {
  // A complete first exchange must not make a second, short one look complete.
  slot().send(make_request("GET", "/"), "PATH_INFO\0/"s, sink_);
  ASSERT_TRUE(worker().await_request(io_));
  worker().send_raw(encode_frame(FrameType::ResponseStart, "200 OK\0Content-Length\0004"s) +
                    encode_frame(FrameType::ResponseBody, "some") + encode_frame(FrameType::ResponseEnd, ""));
  ASSERT_TRUE(wait_outcomes(1));
  auto second = std::make_shared<RecordingSink>();
  slot().send(make_request("GET", "/"), "PATH_INFO\0/"s, second);
  ASSERT_TRUE(worker().await_request(io_));
  worker().send_raw(encode_frame(FrameType::ResponseStart, "200 OK\0Content-Length\0004"s) +
                    encode_frame(FrameType::ResponseBody, "so"));
  ASSERT_TRUE(run_until(io_, [&] { return second->body_text == "so"; }));
  worker().close();
  ASSERT_TRUE(run_until(io_, [&] { return owner_.closed > 0; }));
  EXPECT_EQ(second->finished_ok, false);
}

TEST_F(WorkerSlotTest, IdleSocketClosedJustCloses) {
  worker().close();
  ASSERT_TRUE(run_until(io_, [&] { return owner_.closed > 0; }));
  EXPECT_TRUE(owner_.outcomes.empty());
  EXPECT_EQ(slot().state(), State::Closed);
}

TEST_F(WorkerSlotTest, CloseWhileBusyIsWorkerLost) {
  slot().send(make_request("GET", "/"), "PATH_INFO\0/"s, sink_);
  ASSERT_TRUE(worker().await_request(io_));
  slot().close();
  EXPECT_EQ(sink_->status, 502);
  EXPECT_EQ(sink_->finishes, 1);
  EXPECT_EQ(owner_.events, (std::vector<std::string>{"done:worker_lost", "closed"}));
  EXPECT_EQ(slot().state(), State::Closed);
  run_for(io_, ms{10});
  EXPECT_EQ(owner_.closed, 1);  // the aborted read does not report again
}

TEST_F(WorkerSlotTest, RequestTimeoutIs504) {
  make_slot(ms{50});
  auto t0 = std::chrono::steady_clock::now();
  slot().send(make_request("GET", "/slow"), "PATH_INFO\0/slow"s, sink_);
  ASSERT_TRUE(worker().await_request(io_));
  ASSERT_TRUE(wait_finished());
  EXPECT_GE(std::chrono::steady_clock::now() - t0, ms{50});
  EXPECT_EQ(sink_->status, 504);
  EXPECT_EQ(sink_->body_text, "Gateway Timeout\n");
  EXPECT_EQ(sink_->finished_ok, true);
  EXPECT_EQ(owner_.outcomes, (std::vector<Outcome>{Outcome::Timeout}));
  EXPECT_EQ(slot().state(), State::Broken);
  EXPECT_EQ(owner_.closed, 0);  // the worker gets killed by its owner, not here

  // A late answer from the worker does not reach the sink again.
  worker().respond("200 OK", "late");
  run_for(io_, ms{20});
  EXPECT_EQ(sink_->starts, 1);
  EXPECT_EQ(sink_->finishes, 1);
  EXPECT_EQ(sink_->body_text, "Gateway Timeout\n");
}

TEST_F(WorkerSlotTest, TimeoutAfterStartBreaksTheResponse) {
  make_slot(ms{50});
  slot().send(make_request("GET", "/slow"), "PATH_INFO\0/slow"s, sink_);
  ASSERT_TRUE(worker().await_request(io_));
  worker().send(FrameType::ResponseStart, "200 OK");
  ASSERT_TRUE(wait_finished());
  EXPECT_EQ(sink_->status, 200);
  EXPECT_EQ(sink_->finished_ok, false);
  EXPECT_EQ(owner_.outcomes, (std::vector<Outcome>{Outcome::Timeout}));
  EXPECT_EQ(slot().state(), State::Broken);
}

TEST_F(WorkerSlotTest, ResponseWithinTimeoutIsNotCut) {
  make_slot(ms{400});  // generous: the answer must beat it even on a loaded machine
  slot().send(make_request("GET", "/"), "PATH_INFO\0/"s, sink_);
  ASSERT_TRUE(worker().await_request(io_));
  worker().respond("200 OK", "fast");
  ASSERT_TRUE(wait_outcomes(1));
  run_for(io_, ms{450});  // past the timeout: the cancelled timer must not fire
  EXPECT_EQ(owner_.outcomes, (std::vector<Outcome>{Outcome::Ok}));
  EXPECT_EQ(slot().state(), State::Idle);
  EXPECT_EQ(sink_->finishes, 1);
}

// The timer stays armed across exchanges (docs/profile.md, issue 14): when it
// fires for an earlier request's deadline, the next request's own deadline holds.
TEST_F(WorkerSlotTest, TimeoutCountsFromEachRequestNotFromTheTimerLeftArmed) {
  make_slot(ms{200});
  slot().send(make_request("GET", "/fast"), "PATH_INFO\0/fast"s, sink_);
  ASSERT_TRUE(worker().await_request(io_));
  worker().respond("200 OK", "fast");
  ASSERT_TRUE(wait_outcomes(1));
  run_for(io_, ms{120});  // the timer armed for the first request is still pending
  auto slow = std::make_shared<RecordingSink>();
  const auto t1 = std::chrono::steady_clock::now();
  slot().send(make_request("GET", "/slow"), "PATH_INFO\0/slow"s, slow);
  ASSERT_TRUE(worker().await_request(io_));
  ASSERT_TRUE(run_until(io_, [&] { return slow->finished(); }));
  EXPECT_GE(std::chrono::steady_clock::now() - t1, ms{200});  // not at the first request's deadline
  EXPECT_EQ(slow->status, 504);
  EXPECT_EQ(owner_.outcomes, (std::vector<Outcome>{Outcome::Ok, Outcome::Timeout}));
  EXPECT_EQ(slot().state(), State::Broken);
}

TEST_F(WorkerSlotTest, MalformedFrameIs502AndCloses) {
  slot().send(make_request("GET", "/"), "PATH_INFO\0/"s, sink_);
  ASSERT_TRUE(worker().await_request(io_));
  std::string bad(kHeaderSize, '\0');
  bad[0] = '\x99';
  worker().send_raw(bad);
  ASSERT_TRUE(run_until(io_, [&] { return owner_.closed > 0; }));
  EXPECT_EQ(sink_->status, 502);
  EXPECT_EQ(sink_->body_text, "Bad Gateway\n");
  EXPECT_EQ(sink_->finishes, 1);
  EXPECT_EQ(owner_.events, (std::vector<std::string>{"done:protocol_error", "closed"}));
  EXPECT_EQ(slot().state(), State::Closed);
}

TEST_F(WorkerSlotTest, MalformedResponseStartIs502) {
  slot().send(make_request("GET", "/"), "PATH_INFO\0/"s, sink_);
  ASSERT_TRUE(worker().await_request(io_));
  worker().send(FrameType::ResponseStart, "20 OK");
  ASSERT_TRUE(wait_outcomes(1));
  EXPECT_EQ(sink_->status, 502);
  EXPECT_EQ(sink_->finishes, 1);
  EXPECT_EQ(owner_.outcomes, (std::vector<Outcome>{Outcome::ProtocolError}));
  EXPECT_EQ(slot().state(), State::Broken);
}

TEST_F(WorkerSlotTest, EndWithoutStartIs502) {
  slot().send(make_request("GET", "/"), "PATH_INFO\0/"s, sink_);
  ASSERT_TRUE(worker().await_request(io_));
  worker().send(FrameType::ResponseEnd, "");
  ASSERT_TRUE(wait_outcomes(1));
  EXPECT_EQ(sink_->status, 502);
  EXPECT_EQ(owner_.outcomes, (std::vector<Outcome>{Outcome::ProtocolError}));
}

TEST_F(WorkerSlotTest, BodyBeforeStartIs502) {
  slot().send(make_request("GET", "/"), "PATH_INFO\0/"s, sink_);
  ASSERT_TRUE(worker().await_request(io_));
  worker().send(FrameType::ResponseBody, "oops");
  ASSERT_TRUE(wait_outcomes(1));
  EXPECT_EQ(sink_->status, 502);
  EXPECT_EQ(sink_->body_text, "Bad Gateway\n");
  EXPECT_EQ(owner_.outcomes, (std::vector<Outcome>{Outcome::ProtocolError}));
}

TEST_F(WorkerSlotTest, SecondStartIsAProtocolError) {
  slot().send(make_request("GET", "/"), "PATH_INFO\0/"s, sink_);
  ASSERT_TRUE(worker().await_request(io_));
  worker().send(FrameType::ResponseStart, "200 OK");
  worker().send(FrameType::ResponseStart, "200 OK");
  ASSERT_TRUE(wait_outcomes(1));
  EXPECT_EQ(sink_->starts, 1);
  EXPECT_EQ(sink_->finished_ok, false);
  EXPECT_EQ(owner_.outcomes, (std::vector<Outcome>{Outcome::ProtocolError}));
}

TEST_F(WorkerSlotTest, ResponseFrameWhileIdleClosesTheSlot) {
  worker().send(FrameType::ResponseStart, "200 OK");
  ASSERT_TRUE(run_until(io_, [&] { return owner_.closed > 0; }));
  EXPECT_TRUE(owner_.outcomes.empty());
  EXPECT_EQ(slot().state(), State::Closed);
}

TEST_F(WorkerSlotTest, GoneClientGetsNoBodyButTheExchangeCompletes) {
  slot().send(make_request("GET", "/"), "PATH_INFO\0/"s, sink_);
  ASSERT_TRUE(worker().await_request(io_));
  sink_->gone = true;
  worker().respond("200 OK", "dropped");
  ASSERT_TRUE(wait_outcomes(1));
  EXPECT_EQ(sink_->body_text, "");
  EXPECT_EQ(sink_->finishes, 1);
  EXPECT_EQ(owner_.outcomes, (std::vector<Outcome>{Outcome::Ok}));
  EXPECT_EQ(slot().state(), State::Idle);
}

// --- streamed responses and CLIENT_GONE (issue 17) ---------------------------------

const std::string kGoneFrame = encode_frame(FrameType::ClientGone, "");

TEST_F(WorkerSlotTest, StreamFlagOnStartMakesTheSinkStream) {
  slot().send(make_request("GET", "/"), "PATH_INFO\0/"s, sink_);
  ASSERT_TRUE(worker().await_request(io_));
  worker().send(FrameType::ResponseStart, "200 OK\0Content-Type\0text/event-stream"s, kFlagStream);
  worker().send(FrameType::ResponseBody, "data: 1\n\n");
  ASSERT_TRUE(run_until(io_, [&] { return sink_->body_text == "data: 1\n\n"; }));
  EXPECT_EQ(sink_->streaming, 1);
  worker().send(FrameType::ResponseEnd, "");
  ASSERT_TRUE(wait_outcomes(1));
  auto plain = std::make_shared<RecordingSink>();
  slot().send(make_request("GET", "/"), "PATH_INFO\0/"s, plain);
  ASSERT_TRUE(worker().await_request(io_));
  worker().respond("200 OK", "x");
  ASSERT_TRUE(wait_outcomes(2));
  EXPECT_EQ(plain->streaming, 0);
}

TEST_F(WorkerSlotTest, ClientGoneIsToldToTheWorkerWhichStillEndsTheExchange) {
  slot().send(make_request("GET", "/"), "PATH_INFO\0/"s, sink_);
  ASSERT_TRUE(worker().await_request(io_));
  EXPECT_NE(sink_->watcher, nullptr);  // registered for the exchange
  worker().send(FrameType::ResponseStart, "200 OK"s, kFlagStream);
  worker().send(FrameType::ResponseBody, "one");
  ASSERT_TRUE(run_until(io_, [&] { return sink_->body_text == "one"; }));
  sink_->leave();
  ASSERT_TRUE(run_until(io_, [&] { return worker().pump() && worker().inbox() == kGoneFrame; }));
  // The worker stops; what it wrote meanwhile is dropped; its END frees the slot.
  worker().send(FrameType::ResponseBody, "two");
  EXPECT_EQ(slot().state(), State::Busy);
  worker().send(FrameType::ResponseEnd, "");
  ASSERT_TRUE(wait_outcomes(1));
  EXPECT_EQ(owner_.outcomes, (std::vector<Outcome>{Outcome::Ok}));
  EXPECT_EQ(slot().state(), State::Idle);
  EXPECT_EQ(sink_->body_text, "one");
  // Told once: a second leave (or a body after it) writes nothing more.
  run_for(io_, ms{20});
  worker().pump();
  EXPECT_EQ(worker().inbox(), kGoneFrame);
}

TEST_F(WorkerSlotTest, AfterClientGoneEndAloneIsAValidEnd) {
  // An ASGI app waiting in receive() sends nothing before it learns of the disconnect.
  slot().send(make_request("GET", "/"), "PATH_INFO\0/"s, sink_);
  ASSERT_TRUE(worker().await_request(io_));
  sink_->leave();
  ASSERT_TRUE(run_until(io_, [&] { return worker().pump() && worker().inbox() == kGoneFrame; }));
  worker().send(FrameType::ResponseEnd, "");
  ASSERT_TRUE(wait_outcomes(1));
  EXPECT_EQ(owner_.outcomes, (std::vector<Outcome>{Outcome::Ok}));
  EXPECT_EQ(slot().state(), State::Idle);
  EXPECT_EQ(sink_->starts, 0);
  EXPECT_EQ(sink_->finishes, 1);
  EXPECT_EQ(sink_->finished_ok, false);
}

TEST_F(WorkerSlotTest, WatcherIsUnregisteredWhenTheExchangeEnds) {
  slot().send(make_request("GET", "/"), "PATH_INFO\0/"s, sink_);
  ASSERT_TRUE(worker().await_request(io_));
  worker().respond("200 OK", "done");
  ASSERT_TRUE(wait_outcomes(1));
  EXPECT_EQ(sink_->watcher, nullptr);
  // A client that leaves after the response (the END crossed nothing) is not reported.
  sink_->leave();
  run_for(io_, ms{20});
  worker().pump();
  EXPECT_EQ(worker().inbox(), "");
}

TEST_F(WorkerSlotTest, ClientGoneWhileTheRequestIsWrittenFollowsTheRequest) {
  // A body larger than the socket buffers: the write is still going when the client leaves.
  std::string body(8 << 20, 'b');
  slot().send(make_request("POST", "/", body), "PATH_INFO\0/"s, sink_);
  run_for(io_, ms{10});
  sink_->leave();
  auto req = worker().await_request(io_);
  ASSERT_TRUE(req);
  EXPECT_EQ(req->body.size(), body.size());
  ASSERT_TRUE(run_until(io_, [&] { return worker().pump() && worker().inbox() == kGoneFrame; }));
  worker().send(FrameType::ResponseEnd, "");
  ASSERT_TRUE(wait_outcomes(1));
  EXPECT_EQ(owner_.outcomes, (std::vector<Outcome>{Outcome::Ok}));
}

TEST_F(WorkerSlotTest, SinkThatDoesNotTellStillGetsTheWorkerToldAtTheNextBody) {
  slot().send(make_request("GET", "/"), "PATH_INFO\0/"s, sink_);
  ASSERT_TRUE(worker().await_request(io_));
  worker().send(FrameType::ResponseStart, "200 OK"s, kFlagStream);
  worker().send(FrameType::ResponseBody, "one");
  ASSERT_TRUE(run_until(io_, [&] { return sink_->body_text == "one"; }));
  sink_->gone = true;  // gone without telling the watcher
  worker().send(FrameType::ResponseBody, "two");
  ASSERT_TRUE(run_until(io_, [&] { return worker().pump() && worker().inbox() == kGoneFrame; }));
  worker().send(FrameType::ResponseEnd, "");
  ASSERT_TRUE(wait_outcomes(1));
  EXPECT_EQ(owner_.outcomes, (std::vector<Outcome>{Outcome::Ok}));
}

TEST_F(WorkerSlotTest, SpooledBodyIsStreamedCompletely) {
  char dir_tmpl[] = "/tmp/hearth-slot-test-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_tmpl), nullptr);
  auto req = std::make_shared<http::Request>();
  req->method = "PUT";
  req->target = "/upload";
  req->body = http::Spool(1024, dir_tmpl);
  std::string body(700 * 1024 + 13, '\0');  // several 64 KiB chunks, larger than the socket buffer
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>((i * 131 + i / 7) & 0xff);
  for (std::size_t off = 0; off < body.size(); off += 10000) {
    ASSERT_FALSE(req->body.append(std::string_view(body).substr(off, 10000)));
  }
  ASSERT_FALSE(req->body.in_memory());
  ASSERT_EQ(req->body.size(), body.size());

  slot().send(req, "PATH_INFO\0/upload"s, sink_);
  req.reset();  // the slot keeps what it needs
  auto got = worker().await_request(io_, ms{10000});
  ASSERT_TRUE(got);
  EXPECT_EQ(got->header.aux, body.size());
  EXPECT_EQ(got->environ, "PATH_INFO\0/upload"s);
  ASSERT_EQ(got->body.size(), body.size());
  EXPECT_TRUE(got->body == body);

  worker().respond("200 OK", "stored");
  ASSERT_TRUE(wait_outcomes(1));
  EXPECT_EQ(sink_->body_text, "stored");
  EXPECT_EQ(sink_->finished_ok, true);
  EXPECT_EQ(owner_.outcomes, (std::vector<Outcome>{Outcome::Ok}));
  EXPECT_EQ(slot().state(), State::Idle);
  ::rmdir(dir_tmpl);
}

TEST_F(WorkerSlotTest, EarlyResponseWaitsForTheBodyWriteBeforeIdle) {
  // The app answers (413, say) before reading the body; the worker discards
  // the body afterwards. The slot must not take a new request before the
  // whole body has been written, or the next REQUEST would land inside it.
  char dir_tmpl[] = "/tmp/hearth-slot-test-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_tmpl), nullptr);
  auto req = std::make_shared<http::Request>();
  req->method = "POST";
  req->target = "/big";
  req->body = http::Spool(4096, dir_tmpl);
  std::string body(2 * 1024 * 1024, 'b');
  ASSERT_FALSE(req->body.append(body));
  ASSERT_FALSE(req->body.in_memory());

  slot().send(req, "PATH_INFO\0/big"s, sink_);
  run_for(io_, ms{20});  // fills the socket buffer; the worker reads nothing yet
  worker().respond("413 Payload Too Large", "too big");
  ASSERT_TRUE(wait_finished());
  EXPECT_EQ(sink_->status, 413);
  EXPECT_EQ(sink_->body_text, "too big");
  EXPECT_EQ(sink_->finished_ok, true);
  run_for(io_, ms{20});
  EXPECT_TRUE(owner_.outcomes.empty());  // still writing the body
  EXPECT_EQ(slot().state(), State::Busy);

  auto got = worker().await_request(io_, ms{10000});  // the worker drains the body
  ASSERT_TRUE(got);
  EXPECT_EQ(got->body.size(), body.size());
  ASSERT_TRUE(wait_outcomes(1));
  EXPECT_EQ(owner_.outcomes, (std::vector<Outcome>{Outcome::Ok}));
  EXPECT_EQ(slot().state(), State::Idle);
  ::rmdir(dir_tmpl);
}

TEST_F(WorkerSlotTest, LargeInMemoryBodyIsWrittenCompletely) {
  std::string body(3 * 1024 * 1024 + 1, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i % 251);
  auto req = make_request("POST", "/mem", body);
  ASSERT_TRUE(req->body.in_memory());
  slot().send(req, "PATH_INFO\0/mem"s, sink_);
  auto got = worker().await_request(io_, ms{10000});
  ASSERT_TRUE(got);
  EXPECT_EQ(got->header.aux, body.size());
  EXPECT_TRUE(got->body == body);
  worker().respond("200 OK", "");
  ASSERT_TRUE(wait_outcomes(1));
  EXPECT_EQ(slot().state(), State::Idle);
}

TEST_F(WorkerSlotTest, LastStatusAndInternalFlag) {
  EXPECT_EQ(slot().last_status(), 0);
  slot().send(make_request("GET", "/health"), "PATH_INFO\0/health"s, sink_, /*internal=*/true);
  EXPECT_TRUE(slot().last_internal());
  ASSERT_TRUE(worker().await_request(io_));
  worker().respond("503 Service Unavailable", "warming");
  ASSERT_TRUE(wait_outcomes(1));
  EXPECT_EQ(slot().last_status(), 503);
  EXPECT_TRUE(slot().last_internal());

  auto sink2 = std::make_shared<RecordingSink>();
  slot().send(make_request("GET", "/"), "PATH_INFO\0/"s, sink2);
  EXPECT_FALSE(slot().last_internal());
  EXPECT_EQ(slot().last_status(), 0);  // reset for the new exchange
  ASSERT_TRUE(worker().await_request(io_));
  worker().send(FrameType::ResponseEnd, "");  // protocol error: the 502 is ours, not the app's
  ASSERT_TRUE(wait_outcomes(2));
  EXPECT_EQ(sink2->status, 502);
  EXPECT_EQ(slot().last_status(), 0);
}

TEST(WorkerSlotOutcome, Names) {
  EXPECT_STREQ(WorkerSlot::outcome_name(Outcome::Ok), "ok");
  EXPECT_STREQ(WorkerSlot::outcome_name(Outcome::AppAborted), "app_aborted");
  EXPECT_STREQ(WorkerSlot::outcome_name(Outcome::WorkerLost), "worker_lost");
  EXPECT_STREQ(WorkerSlot::outcome_name(Outcome::Timeout), "timeout");
  EXPECT_STREQ(WorkerSlot::outcome_name(Outcome::ProtocolError), "protocol_error");
}

}  // namespace
}  // namespace hearth::supervisor
