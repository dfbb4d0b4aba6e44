// WorkerSlot carrying a WebSocket exchange (docs/worker-protocol.md, "A WebSocket on a
// slot"): the WS_* frames both ways, against a fake link for the client side.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "http/websocket_link.h"
#include "slot_harness.h"
#include "supervisor/worker_slot.h"

namespace hearth::supervisor {
namespace {

using namespace std::string_literals;
using hearth::testing::RecordingOwner;
using hearth::testing::RecordingSink;
using hearth::testing::make_request;
using hearth::testing::run_until;
using hearth::testing::SlotPair;
using Outcome = WorkerSlot::Outcome;
using State = WorkerSlot::State;
using WsState = WorkerSlot::WsState;
using ms = std::chrono::milliseconds;

// The client side as the slot sees it.
class FakeLink final : public http::WebSocketLink {
 public:
  void set_app(std::weak_ptr<http::WebSocketApp> a) override { app = std::move(a); }
  void detach_app() override {
    app.reset();
    ++detached;
  }
  bool accept(std::string_view sub, std::vector<http::Header> h) override {
    accepted = true;
    subprotocol = sub;
    headers = std::move(h);
    return client_there;
  }
  void send(bool text, std::string_view data) override { sent.emplace_back((text ? "T:" : "B:") + std::string(data)); }
  void close(uint16_t code, std::string_view reason) override {
    closes.push_back(code);
    close_reason = reason;
  }
  void resume_reading() override { ++resumes; }
  bool open() const override { return accepted && closes.empty(); }

  std::weak_ptr<http::WebSocketApp> app;
  bool client_there = true;
  bool accepted = false;
  std::string subprotocol;
  std::vector<http::Header> headers;
  std::vector<std::string> sent;
  std::vector<uint16_t> closes;
  std::string close_reason;
  int resumes = 0;
  int detached = 0;
};

class WorkerSlotWsTest : public ::testing::Test {
 protected:
  void SetUp() override { pair_ = SlotPair::make(io_, &owner_, 3, 0, ms{0}); }
  void TearDown() override { pair_.shutdown(io_); }
  WorkerSlot& slot() { return *pair_.slot; }
  // Sends the handshake request and reads it on the worker's side.
  void open_exchange() {
    auto req = make_request("GET", "/ws");
    req->websocket = link_;
    slot().send(req, "PATH_INFO\0/ws\0hearth.websocket\0"s "1", sink_);
    ASSERT_TRUE(pair_.worker->await_request(io_));
    EXPECT_EQ(slot().ws_state(), WsState::Connecting);
  }
  void from_worker(FrameType t, std::string_view payload, uint8_t flags = 0, uint64_t aux = 0) {
    pair_.worker->send_raw(encode_frame(t, payload, flags, aux));
  }

  boost::asio::io_context io_;
  RecordingOwner owner_;
  SlotPair pair_;
  std::shared_ptr<RecordingSink> sink_ = std::make_shared<RecordingSink>();
  std::shared_ptr<FakeLink> link_ = std::make_shared<FakeLink>();
};

TEST_F(WorkerSlotWsTest, AcceptRelayAndEnd) {
  open_exchange();
  from_worker(FrameType::WsAccept, "chat\0X-A\0v"s);
  ASSERT_TRUE(run_until(io_, [&] { return link_->accepted; }));
  EXPECT_EQ(link_->subprotocol, "chat");
  ASSERT_EQ(link_->headers.size(), 1u);
  EXPECT_EQ(link_->headers[0].name, "X-A");
  EXPECT_EQ(sink_->status, 101);  // for the access log
  EXPECT_TRUE(slot().websocket_open());

  from_worker(FrameType::WsSend, "hi", kFlagText);
  from_worker(FrameType::WsSend, "\x01\x02", 0);
  ASSERT_TRUE(run_until(io_, [&] { return link_->sent.size() == 2; }));
  EXPECT_EQ(link_->sent, (std::vector<std::string>{"T:hi", "B:\x01\x02"}));

  // Client messages become WS_RECEIVE frames.
  auto app = link_->app.lock();
  ASSERT_TRUE(app);
  EXPECT_TRUE(app->on_client_message(true, "yo"));
  auto f = pair_.worker->await_frame(io_);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->first.type, FrameType::WsReceive);
  EXPECT_EQ(f->first.flags, kFlagText);
  EXPECT_EQ(f->second, "yo");

  // The app returns without closing: the slot closes 1000 for it, and is free.
  from_worker(FrameType::ResponseEnd, "");
  ASSERT_TRUE(run_until(io_, [&] { return owner_.outcomes.size() == 1; }));
  EXPECT_EQ(owner_.outcomes, (std::vector<Outcome>{Outcome::Ok}));
  EXPECT_EQ(link_->closes, (std::vector<uint16_t>{1000}));
  EXPECT_EQ(link_->detached, 1);
  EXPECT_TRUE(link_->app.expired() || !link_->app.lock());
  EXPECT_EQ(slot().state(), State::Idle);
  EXPECT_EQ(slot().ws_state(), WsState::None);
  EXPECT_TRUE(sink_->finished_ok);
}

TEST_F(WorkerSlotWsTest, AppCloseThenClientMessagesAreNotForwarded) {
  open_exchange();
  from_worker(FrameType::WsAccept, "");
  from_worker(FrameType::WsClose, "bye", 0, 4001);
  ASSERT_TRUE(run_until(io_, [&] { return !link_->closes.empty(); }));
  EXPECT_EQ(link_->closes, (std::vector<uint16_t>{4001}));
  EXPECT_EQ(link_->close_reason, "bye");
  EXPECT_EQ(slot().ws_state(), WsState::Closed);
  auto app = link_->app.lock();
  ASSERT_TRUE(app);
  app->on_client_message(true, "late");
  app->on_client_closed(1000);
  from_worker(FrameType::ResponseEnd, "");
  ASSERT_TRUE(run_until(io_, [&] { return owner_.outcomes.size() == 1; }));
  pair_.worker->pump();
  EXPECT_EQ(pair_.worker->inbox(), "");  // nothing went to the worker after its close
  EXPECT_EQ(link_->closes.size(), 1u);
}

TEST_F(WorkerSlotWsTest, CloseBeforeAcceptIs403) {
  open_exchange();
  from_worker(FrameType::WsClose, "", 0, 1000);
  from_worker(FrameType::ResponseEnd, "");
  ASSERT_TRUE(run_until(io_, [&] { return owner_.outcomes.size() == 1; }));
  EXPECT_FALSE(link_->accepted);
  EXPECT_EQ(sink_->status, 403);
  EXPECT_EQ(sink_->finishes, 1);
  EXPECT_EQ(slot().state(), State::Idle);
}

TEST_F(WorkerSlotWsTest, ClientGoneIsAWsDisconnectWithItsCode) {
  open_exchange();
  from_worker(FrameType::WsAccept, "");
  ASSERT_TRUE(run_until(io_, [&] { return link_->accepted; }));
  link_->app.lock()->on_client_closed(1001);
  auto f = pair_.worker->await_frame(io_);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->first.type, FrameType::WsDisconnect);
  EXPECT_EQ(f->first.aux, 1001u);
  // A send crossing the disconnect is dropped, not a protocol error.
  from_worker(FrameType::WsSend, "x", kFlagText);
  from_worker(FrameType::ResponseEnd, "");
  ASSERT_TRUE(run_until(io_, [&] { return owner_.outcomes.size() == 1; }));
  EXPECT_EQ(owner_.outcomes[0], Outcome::Ok);
  EXPECT_TRUE(link_->sent.empty());
  EXPECT_TRUE(link_->closes.empty());
}

TEST_F(WorkerSlotWsTest, AcceptAfterTheClientLeftTellsTheWorker) {
  link_->client_there = false;
  open_exchange();
  from_worker(FrameType::WsAccept, "");
  auto f = pair_.worker->await_frame(io_);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->first.type, FrameType::WsDisconnect);
  EXPECT_EQ(f->first.aux, 1006u);
}

TEST_F(WorkerSlotWsTest, WorkerLostClosesTheSocketWith1001) {
  open_exchange();
  from_worker(FrameType::WsAccept, "");
  ASSERT_TRUE(run_until(io_, [&] { return link_->accepted; }));
  pair_.worker->close();
  ASSERT_TRUE(run_until(io_, [&] { return owner_.outcomes.size() == 1; }));
  EXPECT_EQ(owner_.outcomes[0], Outcome::WorkerLost);
  EXPECT_EQ(link_->closes, (std::vector<uint16_t>{1001}));
}

TEST_F(WorkerSlotWsTest, WsFrameOutsideAWebSocketIsAProtocolError) {
  slot().send(make_request("GET", "/"), "PATH_INFO\0/"s, sink_);
  ASSERT_TRUE(pair_.worker->await_request(io_));
  from_worker(FrameType::WsAccept, "");
  ASSERT_TRUE(run_until(io_, [&] { return owner_.outcomes.size() == 1; }));
  EXPECT_EQ(owner_.outcomes[0], Outcome::ProtocolError);
  EXPECT_EQ(sink_->status, 502);
}

TEST_F(WorkerSlotWsTest, AFloodingClientIsPausedUntilTheWorkerReads) {
  open_exchange();
  from_worker(FrameType::WsAccept, "");
  ASSERT_TRUE(run_until(io_, [&] { return link_->accepted; }));
  auto app = link_->app.lock();
  const std::string msg(64 * 1024, 'm');
  bool more = true;
  int sent = 0;
  // The worker reads nothing: the socket buffer fills, then the slot's queue.
  for (; more && sent < 10000; ++sent) {
    more = app->on_client_message(false, msg);
    if (sent % 8 == 0) run_until(io_, [] { return false; }, ms{1});
  }
  EXPECT_FALSE(more) << "never paused after " << sent << " messages";
  EXPECT_EQ(link_->resumes, 0);
  // The worker catches up: the client is resumed.
  ASSERT_TRUE(run_until(io_, [&] {
    pair_.worker->pump();
    return link_->resumes == 1;
  }, ms{5000}));
}

}  // namespace
}  // namespace hearth::supervisor
