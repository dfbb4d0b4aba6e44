#pragma once
// Test doubles for WorkerSlot-level tests (also used by tests/unit/proxy):
// a ResponseSink that records every call, a WorkerSlot::Owner that records
// every callback (and answers a chosen SlotFate), a WorkerSlot::Home that
// records what comes back, and a fake worker: the far end of a socketpair that the test
// reads and writes directly, speaking docs/worker-protocol.md.
#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <cerrno>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <string_view>
#include <vector>

#include "http/handler.h"
#include "supervisor/protocol.h"
#include "supervisor/worker_slot.h"

namespace hearth::testing {

namespace asio = boost::asio;
using supervisor::WorkerSlot;

class RecordingSink final : public http::ResponseSink {
 public:
  void start(int status, std::string_view reason, std::vector<http::Header> headers) override {
    ++starts;
    this->status = status;
    this->reason = std::string(reason);
    this->headers = std::move(headers);
  }
  void body(std::string_view data) override {
    body_text.append(data);
    if (fill_after_body) is_full = true;
  }
  bool full() const override { return is_full; }
  void when_writable(std::function<void()> cb) override { writable = std::move(cb); }
  void finish(bool ok) override {
    ++finishes;
    finished_ok = ok;
  }
  bool client_gone() const override { return gone; }
  void set_streaming() override { ++streaming; }
  void watch_client(http::ClientGoneListener* listener) override { watcher = listener; }
  // The client leaves, as a connection's close does: gone, and the watcher told.
  void leave() {
    gone = true;
    if (auto* w = std::exchange(watcher, nullptr)) w->on_client_gone();
  }

  std::optional<std::string> header(std::string_view name) const {
    for (auto& h : headers)
      if (h.name == name) return h.value;
    return std::nullopt;
  }
  bool finished() const { return finishes > 0; }

  int starts = 0;
  int finishes = 0;
  int status = 0;
  std::string reason;
  std::vector<http::Header> headers;
  std::string body_text;
  std::optional<bool> finished_ok;
  bool gone = false;
  // Back-pressure: with fill_after_body, full() turns true after each body() call.
  bool fill_after_body = false;
  bool is_full = false;
  std::function<void()> writable;
  int streaming = 0;  // set_streaming() calls
  http::ClientGoneListener* watcher = nullptr;
};

class RecordingOwner final : public WorkerSlot::Owner {
 public:
  void on_worker_ready(WorkerSlot&, std::string_view json) override { ready.emplace_back(json); }
  void on_worker_failed(WorkerSlot&, std::string_view text) override { failed.emplace_back(text); }
  supervisor::SlotFate on_exchange_done(WorkerSlot& slot, WorkerSlot::Outcome outcome) override {
    outcomes.push_back(outcome);
    events.push_back(std::string("done:") + WorkerSlot::outcome_name(outcome));
    return fate;
  }
  void on_slot_closed(WorkerSlot&) override {
    ++closed;
    events.push_back("closed");
  }
  void on_exchange_start(WorkerSlot&) override { ++starts; }
  bool may_dispatch_ahead(const WorkerSlot&) const override { return ahead_ok; }
  int starts = 0;
  bool ahead_ok = false;  // what may_dispatch_ahead answers
  std::vector<std::string> ready, failed, events;
  std::vector<WorkerSlot::Outcome> outcomes;
  int closed = 0;
  // What on_exchange_done answers: Free plays a Ready worker, Withheld a stopping one.
  supervisor::SlotFate fate = supervisor::SlotFate::Withheld;
};

// Records what slots tell their Home; `free` holds every slot handed back free
// (entering rotation, or an exchange that ended with SlotFate::Free).
class RecordingHome final : public WorkerSlot::Home {
 public:
  void on_slot_free(std::shared_ptr<WorkerSlot> slot) override { free.push_back(std::move(slot)); }
  void on_exchange_end(std::shared_ptr<WorkerSlot> slot, supervisor::ExchangeEnd&& end) override {
    if (end.fate == supervisor::SlotFate::Free) free.push_back(slot);
    ends.push_back(std::move(end));
  }
  void on_ahead_wanted(WorkerSlot& slot) override { ahead_wanted.push_back(slot.shared_from_this()); }
  // Takes the request back, as the Dispatcher does (null when the slot refused).
  void on_ahead_blocked(WorkerSlot& slot) override { blocked.push_back(take_back ? slot.withdraw_ahead() : nullptr); }
  bool take_back = true;
  std::vector<std::unique_ptr<supervisor::ExchangeEnd::Unstarted>> blocked;
  std::vector<std::shared_ptr<WorkerSlot>> ahead_wanted;
  std::vector<std::shared_ptr<WorkerSlot>> free;
  std::vector<supervisor::ExchangeEnd> ends;
};

// Runs `io` until pred() holds or `timeout` passes; returns pred().
inline bool run_until(asio::io_context& io, const std::function<bool()>& pred,
                      std::chrono::milliseconds timeout = std::chrono::milliseconds{3000}) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (io.stopped()) io.restart();
    io.poll();
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if (io.stopped()) io.restart();
    io.run_one_for(std::chrono::milliseconds{2});
  }
}

// Runs `io` for about `d` (to show that nothing happens meanwhile).
inline void run_for(asio::io_context& io, std::chrono::milliseconds d) {
  run_until(io, [] { return false; }, d);
}

struct ReceivedRequest {
  supervisor::FrameHeader header;
  std::string environ;
  std::string body;
};

// The worker's end of one slot socketpair.
class FakeWorker {
 public:
  explicit FakeWorker(asio::io_context& io) : sock_(io) {}
  asio::local::stream_protocol::socket& socket() { return sock_; }

  // Reads whatever has arrived, without blocking. False on EOF.
  bool pump() {
    char buf[65536];
    while (true) {
      ssize_t n = ::recv(sock_.native_handle(), buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        inbox_.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0) return false;
      return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    }
  }
  // A complete REQUEST (header + environ + body) from the inbox, if one is there.
  std::optional<ReceivedRequest> take_request() {
    pump();
    if (inbox_.size() < supervisor::kHeaderSize) return std::nullopt;
    auto h = supervisor::decode_header(inbox_.data());
    if (!h) {
      bad_header_ = true;
      return std::nullopt;
    }
    std::size_t need = supervisor::kHeaderSize + h->length + static_cast<std::size_t>(h->aux);
    if (inbox_.size() < need) return std::nullopt;
    ReceivedRequest r{*h, inbox_.substr(supervisor::kHeaderSize, h->length),
                      inbox_.substr(supervisor::kHeaderSize + h->length, static_cast<std::size_t>(h->aux))};
    inbox_.erase(0, need);
    return r;
  }
  // Runs io until a whole request has arrived.
  std::optional<ReceivedRequest> await_request(asio::io_context& io,
                                               std::chrono::milliseconds timeout = std::chrono::milliseconds{3000}) {
    std::optional<ReceivedRequest> got;
    run_until(io, [&] { return bad_header_ || (got = take_request()).has_value(); }, timeout);
    return got;
  }
  // One whole frame (header + payload; no unframed body follows it) from the
  // inbox, if one is there: the WebSocket frames.
  std::optional<std::pair<supervisor::FrameHeader, std::string>> take_frame() {
    pump();
    if (inbox_.size() < supervisor::kHeaderSize) return std::nullopt;
    auto h = supervisor::decode_header(inbox_.data());
    if (!h) {
      bad_header_ = true;
      return std::nullopt;
    }
    std::size_t need = supervisor::kHeaderSize + h->length;
    if (inbox_.size() < need) return std::nullopt;
    std::pair<supervisor::FrameHeader, std::string> f{*h, inbox_.substr(supervisor::kHeaderSize, h->length)};
    inbox_.erase(0, need);
    return f;
  }
  std::optional<std::pair<supervisor::FrameHeader, std::string>> await_frame(
      asio::io_context& io, std::chrono::milliseconds timeout = std::chrono::milliseconds{3000}) {
    std::optional<std::pair<supervisor::FrameHeader, std::string>> got;
    run_until(io, [&] { return bad_header_ || (got = take_frame()).has_value(); }, timeout);
    return got;
  }
  // Runs io until a CLIENT_GONE heads the inbox, and consumes it (take_frame cannot:
  // decode_header knows only the frames a daemon reads).
  bool await_client_gone(asio::io_context& io, std::chrono::milliseconds timeout = std::chrono::milliseconds{3000}) {
    const std::string gone = supervisor::encode_frame(supervisor::FrameType::ClientGone, "");
    const bool ok = run_until(io, [&] {
      pump();
      return inbox_.compare(0, gone.size(), gone) == 0;
    }, timeout);
    if (ok) inbox_.erase(0, gone.size());
    return ok;
  }
  // Blocking write of raw bytes (small frames fit the socket buffer).
  void send_raw(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(sock_.native_handle(), data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  void send(supervisor::FrameType t, std::string_view payload, uint8_t flags = 0) {
    send_raw(supervisor::encode_frame(t, payload, flags));
  }
  // START + BODY (if any) + END, as the runtime sends a one-element body.
  void respond(std::string_view start, std::string_view body, uint8_t end_flags = 0) {
    std::string out = supervisor::encode_frame(supervisor::FrameType::ResponseStart, start);
    if (!body.empty()) out += supervisor::encode_frame(supervisor::FrameType::ResponseBody, body);
    out += supervisor::encode_frame(supervisor::FrameType::ResponseEnd, "", end_flags);
    send_raw(out);
  }
  void close() {
    boost::system::error_code ec;
    sock_.close(ec);
  }
  const std::string& inbox() const { return inbox_; }

 private:
  asio::local::stream_protocol::socket sock_;
  std::string inbox_;
  bool bad_header_ = false;
};

// A WorkerSlot over a socketpair plus the fake worker on the other end.
struct SlotPair {
  std::shared_ptr<WorkerSlot> slot;
  std::unique_ptr<FakeWorker> worker;

  static SlotPair make(asio::io_context& io, WorkerSlot::Owner* owner, int worker_id, int index,
                       std::chrono::milliseconds timeout = std::chrono::milliseconds{0},
                       WorkerSlot::Home* home = nullptr) {
    SlotPair p;
    p.worker = std::make_unique<FakeWorker>(io);
    WorkerSlot::Socket ours(io);
    asio::local::connect_pair(ours, p.worker->socket());
    p.slot = std::make_shared<WorkerSlot>(io, std::move(ours), owner, home, worker_id, index, timeout);
    p.slot->start();
    return p;
  }
  // Stops the slot so its pending handlers let go of it.
  void shutdown(asio::io_context& io) {
    if (slot) {
      slot->detach();
      slot->close();
    }
    if (worker) worker->close();
    io.poll();
  }
};

inline std::shared_ptr<http::Request> make_request(std::string method, std::string target,
                                                   std::string_view body = {}) {
  auto r = std::make_shared<http::Request>();
  r->method = std::move(method);
  r->target = std::move(target);
  if (!body.empty()) (void)r->body.append(body);
  return r;
}

}  // namespace hearth::testing
