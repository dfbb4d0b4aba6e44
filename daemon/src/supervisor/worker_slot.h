#pragma once
// One request channel to a worker: a Unix stream socket served by one Python
// thread. Carries one request at a time (docs/worker-protocol.md) and streams
// the response frames into the client's ResponseSink as fast as they arrive.
// Lifetime: owned by its Worker (shared_ptr, so pending Asio handlers keep it
// alive); the Worker outlives its slots' exchanges by calling close().
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "http/handler.h"
#include "supervisor/protocol.h"

namespace hearth::supervisor {

class WorkerSlot : public std::enable_shared_from_this<WorkerSlot> {
 public:
  // Independent of the worker's state: what this channel is doing.
  enum class State {
    Idle,    // no request in flight; may be given one
    Busy,    // a request was sent and its response has not fully arrived/been written
    Broken,  // timed out or violated the protocol; waits for its worker to be killed
    Closed,  // socket closed (worker gone or daemon closing)
  };
  enum class Outcome {
    Ok,             // RESPONSE_END received
    AppAborted,     // RESPONSE_END with ABORTED: app failed after the response started
    WorkerLost,     // the socket closed mid-request (worker died): 502 or a broken response
    Timeout,        // the request ran longer than `timeout`: 504 or a broken response
    ProtocolError,  // malformed frames: 502 or a broken response
  };
  static const char* outcome_name(Outcome o);

  class Owner {
   public:
    virtual ~Owner() = default;
    virtual void on_worker_ready(WorkerSlot& slot, std::string_view json) = 0;
    virtual void on_worker_failed(WorkerSlot& slot, std::string_view text) = 0;
    virtual void on_exchange_done(WorkerSlot& slot, Outcome outcome) = 0;
    virtual void on_slot_closed(WorkerSlot& slot) = 0;
  };

  using Socket = boost::asio::local::stream_protocol::socket;
  // Takes back a request whose worker was lost before any response byte
  // reached the client, so it can be tried on another worker.
  using RetryFn = std::function<void(std::shared_ptr<http::Request>, std::string env_block,
                                     std::shared_ptr<http::ResponseSink>, int lost_worker_id)>;
  // `clock` times the exchange for busy_for() (the request timeout runs on the loop's timer).
  WorkerSlot(boost::asio::io_context& io, Socket socket, Owner* owner, int worker_id, int index,
             std::chrono::milliseconds timeout, const ClockSource& clock = steady_clock_source());
  ~WorkerSlot();

  void start();  // begin reading frames
  // Precondition: state() == Idle. The response (or a 502/504) goes to `sink`.
  // internal: a warm-up/health/keep-warm request, not user traffic.
  // retry: if set and the worker is lost before the response started, the
  // request goes to `retry` instead of being answered 502.
  void send(std::shared_ptr<http::Request> request, std::string env_block,
            std::shared_ptr<http::ResponseSink> sink, bool internal = false, RetryFn retry = {});
  // Closes the socket; an exchange in flight is answered as WorkerLost.
  void close();
  // Stop calling the owner (it is going away).
  void detach() { owner_ = nullptr; }

  State state() const { return state_; }
  int worker_id() const { return worker_id_; }
  int index() const { return index_; }
  // How long the current request has been running (zero when idle).
  std::chrono::milliseconds busy_for() const;
  std::string current_request_line() const {
    return request_ ? request_->method + " " + request_->target : current_line_;
  }
  // The last exchange: its response status (0 if none arrived) and whether it was internal.
  int last_status() const { return last_status_; }
  bool last_internal() const { return internal_; }

 private:
  void do_read();
  void pause_for_client();  // the sink is full(): stop reading until it says when_writable
  void on_read(const boost::system::error_code& ec, std::size_t n);
  void handle_frame(const FrameHeader& h, std::string_view payload);
  void handle_body(std::string_view chunk);
  void do_write_body(std::shared_ptr<http::Request> req, uint64_t offset);
  void on_timeout();
  void fail_exchange(Outcome outcome);
  void complete_exchange(Outcome outcome);
  void maybe_idle();
  // RESPONSE_START and every declared body byte arrived (END may be missing).
  bool response_complete() const;

  boost::asio::io_context& io_;
  Socket socket_;
  boost::asio::steady_timer timer_;
  Owner* owner_;
  const ClockSource& clock_;
  int worker_id_;
  int index_;
  std::chrono::milliseconds timeout_;
  State state_ = State::Idle;

  FrameDecoder decoder_;
  std::array<char, 65536> rbuf_{};
  bool reading_ = false;
  bool paused_ = false;  // not reading: the client's sink is full (back-pressure on the worker)

  // The exchange in flight.
  std::shared_ptr<http::Request> request_;
  std::shared_ptr<http::ResponseSink> sink_;
  std::string wbuf_;        // header + environ block
  RetryFn retry_;
  // One sendfile(2) of a spooled request body moves at most this much.
  static constexpr std::size_t kBodySendChunk = 1024 * 1024;
  bool writing_ = false;
  bool response_started_ = false;
  // The response as the worker declared it: a body of this many bytes
  // (Content-Length), or none at all (HEAD, 1xx/204/304). When the worker is
  // lost after all of it arrived, the client's response is complete.
  std::optional<uint64_t> declared_body_;
  uint64_t body_received_ = 0;
  bool response_done_ = false;
  Outcome pending_outcome_ = Outcome::Ok;
  TimePoint started_at_{};
  std::string current_line_;
  int last_status_ = 0;
  bool internal_ = false;
};

}  // namespace hearth::supervisor
