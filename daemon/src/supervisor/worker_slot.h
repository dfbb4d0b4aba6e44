#pragma once
// One request channel to a worker: a Unix stream socket served by one Python
// thread. Carries one request at a time (docs/worker-protocol.md) and streams
// the response frames into the client's ResponseSink as fast as they arrive.
// Lifetime: owned by its Worker (shared_ptr, so pending Asio handlers keep it
// alive); the Worker outlives its slots' exchanges by calling close(). The
// slot's Home (the dispatcher) outlives every slot's exchanges.
//
// A slot's return has one path: when an exchange ends, the slot asks its Owner
// (the Worker: request and failure counts, kills, and through the Pool passive
// ejection and max_requests) once whether it is free again (SlotFate), then
// tells its Home how the exchange ended (ExchangeEnd): the dispatcher takes a
// Free slot back, and re-sends a request handed back with Retry.
//
// A client that goes away before the response ended (the sink tells the slot,
// http::ClientGoneListener) is reported to the worker with one CLIENT_GONE frame,
// written after the request; the worker still ends the exchange with
// RESPONSE_END (then allowed without RESPONSE_START), so the framing stays in
// step. A CLIENT_GONE that crosses the worker's RESPONSE_END is skipped by the
// worker at its next frame (docs/worker-protocol.md).
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
#include "http/websocket_link.h"
#include "supervisor/protocol.h"

namespace hearth::supervisor {

// Whether a slot whose exchange ended takes the next request; its Owner decides.
enum class SlotFate {
  Free,      // idle, and its worker is Ready (in rotation, not ejected)
  Withheld,  // its worker is admitting, draining, stopping or gone, or the slot is Broken/Closed
};

// How an exchange ended, as the slot's Home needs it.
enum class ExchangeOutcome {
  Done,    // the client has the worker's response (complete, or cut by the app's ABORTED END)
  Failed,  // the slot answered for the worker (502/504) or cut its response: nothing to do again
  Retry,   // the worker was lost before any response byte reached the client and the request was
           // sent Retryable::Yes: it is handed back (ExchangeEnd::request/env_block/sink) to go elsewhere
};

// Whether a request may be handed back (ExchangeOutcome::Retry) instead of
// answered 502 when its worker is lost before the response starts.
enum class Retryable { No, Yes };

// What a slot tells its Home when an exchange ends: a value, no stored callback.
struct ExchangeEnd {
  ExchangeOutcome outcome = ExchangeOutcome::Done;
  SlotFate fate = SlotFate::Withheld;
  // Retry only: the request, its environ block and the client's sink, untouched.
  std::shared_ptr<http::Request> request;
  std::string env_block;
  std::shared_ptr<http::ResponseSink> sink;
  // Dispatch ahead (WorkerSlot::AheadState): the request queued ahead became the
  // slot's current one when this exchange's RESPONSE_END was read (the slot is still Busy).
  bool ahead_started = false;
  // Dispatch ahead: the slot failed (worker lost, timeout, protocol error) before the
  // current RESPONSE_END was read, so the worker never started the request queued
  // ahead: it is handed back untouched, to be sent elsewhere whatever its method
  // (never answered 502). Null when there was none (one pointer: nothing more to
  // build and destroy per exchange on the hot path).
  struct Unstarted {
    std::shared_ptr<http::Request> request;
    std::string env_block;
    std::shared_ptr<http::ResponseSink> sink;
    Retryable retryable = Retryable::No;  // how it was sent
  };
  std::unique_ptr<Unstarted> ahead;
};

// A WebSocket exchange (a REQUEST whose Request::websocket is set) keeps the
// slot Busy for the socket's life: WS_ACCEPT/WS_SEND/WS_CLOSE from the worker
// go to the link, the client's messages and its close go to the worker as
// WS_RECEIVE/WS_DISCONNECT, and RESPONSE_END ends the exchange as for HTTP.
class WorkerSlot : public std::enable_shared_from_this<WorkerSlot>,
                   public http::WebSocketApp,
                   private http::ClientGoneListener {
 public:
  // Where a WebSocket exchange is (None for HTTP).
  enum class WsState {
    None,        // not a WebSocket exchange
    Connecting,  // REQUEST sent; the app has neither accepted nor refused (the request timeout runs)
    Open,        // the app accepted (101 sent): messages both ways, no request timeout
    Closed,      // the app closed, or the client's close was passed on: waiting for RESPONSE_END
    Refused,     // the app closed before accepting: the client got 403; waiting for RESPONSE_END
  };
  // Independent of the worker's state: what this channel is doing.
  enum class State {
    Idle,    // no request in flight; may be given one
    Busy,    // a request was sent and its response has not fully arrived/been written
    Broken,  // timed out or violated the protocol; waits for its worker to be killed
    Closed,  // socket closed (worker gone or daemon closing)
  };
  // Dispatch ahead (docs/worker-protocol.md, "Dispatch ahead"): a WSGI slot whose
  // current request went out whole may be given its next request before the
  // response ended, so the worker finds it buffered after its RESPONSE_END and
  // never sleeps between two. At most one; the worker still serves one at a time.
  // Until the current RESPONSE_END is read, the worker has not started it.
  enum class AheadState {
    None,     // no request queued ahead
    Writing,  // queued ahead; its REQUEST is still being written (the socket took part of it)
    Written,  // queued ahead; its REQUEST is in the socket. It becomes the current exchange
              // (timeout, busy_for, CLIENT_GONE, access log) when the current END is read
    Withdrawn,  // queued ahead, written, then taken back by the Home (withdraw_ahead(): its
                // queue_timeout passed, or another slot is free) with a CLIENT_GONE behind it,
                // so the worker skips it unless it had started it already (only safe methods
                // go ahead). When the current END is read it becomes an internal exchange
                // whose answer is discarded; then the slot is free.
  };
  enum class Outcome {
    Ok,             // RESPONSE_END received
    AppAborted,     // RESPONSE_END with ABORTED: app failed after the response started
    WorkerLost,     // the socket closed mid-request (worker died): 502 or a broken response
    Timeout,        // the request ran longer than `timeout`: 504 or a broken response
    ProtocolError,  // malformed frames: 502 or a broken response
  };
  static const char* outcome_name(Outcome o);

  // The worker's side: what its process says on this channel, and the one
  // observer of every exchange's end.
  class Owner {
   public:
    virtual ~Owner() = default;
    virtual void on_worker_ready(WorkerSlot& slot, std::string_view json) = 0;
    virtual void on_worker_failed(WorkerSlot& slot, std::string_view text) = 0;
    // An exchange starts on `slot` (it is Busy now); on_exchange_done follows once.
    virtual void on_exchange_start(WorkerSlot& slot) {}
    // Whether `slot` may be given a request ahead now: its worker is Ready and will
    // not stop after the current request (recycling, max_requests). Default: no.
    virtual bool may_dispatch_ahead(const WorkerSlot& slot) const { return false; }
    // An exchange ended (the slot is Idle, Broken or Closed by now): count it,
    // act on it (kill after a timeout...) and say whether the slot is free.
    // Called once per exchange, before the Home hears of it.
    [[nodiscard]] virtual SlotFate on_exchange_done(WorkerSlot& slot, Outcome outcome) = 0;
    virtual void on_slot_closed(WorkerSlot& slot) = 0;
  };
  // Where free slots go: the dispatcher.
  class Home {
   public:
    virtual ~Home() = default;
    // `slot` enters rotation (its worker was admitted).
    virtual void on_slot_free(std::shared_ptr<WorkerSlot> slot) = 0;
    // An exchange on `slot` ended: take it back if end.fate is Free; re-send
    // end.request when end.outcome is Retry (the slot is Closed then).
    virtual void on_exchange_end(std::shared_ptr<WorkerSlot> slot, ExchangeEnd&& end) = 0;
    // Dispatch ahead: `slot` (Busy, its request written, dispatch ahead on) may be
    // able to take its next request now; the Home calls send_ahead() if it has one
    // waiting and slot.can_take_ahead(). Default: none.
    // (A reference: no shared_ptr per request when nothing waits.)
    virtual void on_ahead_wanted(WorkerSlot& slot) {}
    // Dispatch ahead: the request queued ahead on `slot` (holds_ahead()) should not
    // wait there: the current response streams, or its client left (the worker sees
    // that CLIENT_GONE only once the request behind is taken back, a pair it skips).
    // The Home takes it back (withdraw_ahead) and sends it elsewhere. Default: none.
    virtual void on_ahead_blocked(WorkerSlot& slot) {}
  };

  using Socket = boost::asio::local::stream_protocol::socket;
  // `clock` times the exchange for busy_for() (the request timeout runs on the loop's timer).
  // `owner` and `home` may be null (tests): then the fate is Withheld and nobody is told.
  WorkerSlot(boost::asio::io_context& io, Socket socket, Owner* owner, Home* home, int worker_id, int index,
             std::chrono::milliseconds timeout, const ClockSource& clock = steady_clock_source());
  ~WorkerSlot();

  void start();  // begin reading frames
  // Precondition: state() == Idle. The response (or a 502/504) goes to `sink`.
  // internal: a warm-up/health/keep-warm request, not user traffic.
  // retryable: Yes and the worker is lost before the response started (and the
  // client is still there): the request is handed back to the Home
  // (ExchangeOutcome::Retry) instead of being answered 502.
  void send(std::shared_ptr<http::Request> request, std::string env_block,
            std::shared_ptr<http::ResponseSink> sink, bool internal = false,
            Retryable retryable = Retryable::No);
  // Dispatch ahead (AheadState). Set once, before start(): a WSGI worker's slot
  // with `dispatch_ahead` on; off, the slot never asks its Home for one.
  void set_dispatch_ahead(bool on) { dispatch_ahead_ = on; }
  // A request the slot could queue ahead: GET, HEAD or OPTIONS with no body and no
  // WebSocket (anything else waits for a free slot, as before). Only a safe method,
  // because one taken back (withdraw_ahead) may still have been started by the worker.
  static bool ahead_eligible(const http::Request& request);
  // Busy on an HTTP exchange whose request (and body) went out whole, no CLIENT_GONE
  // owed or in flight, not a streamed response, nothing ahead yet, dispatch ahead on,
  // and the Owner agrees.
  bool can_take_ahead() const;
  // Precondition: can_take_ahead() and ahead_eligible(*request). Writes the REQUEST
  // now; the worker reads it after its current RESPONSE_END.
  void send_ahead(std::shared_ptr<http::Request> request, std::string env_block,
                  std::shared_ptr<http::ResponseSink> sink, Retryable retryable = Retryable::No);
  AheadState ahead_state() const { return ahead_state_; }
  // Whether a request is queued ahead and not started (Writing or Written), and
  // which one: send_ahead() numbers them, so the Home tells its own request apart.
  bool holds_ahead() const { return ahead_state_ == AheadState::Writing || ahead_state_ == AheadState::Written; }
  uint64_t ahead_seq() const { return ahead_seq_; }
  // Takes the request queued ahead back (Written only, nothing else being written):
  // a CLIENT_GONE goes behind it (one non-blocking send) and the slot becomes
  // Withdrawn. Null when it cannot (Writing, the socket full or gone: the request
  // stays queued ahead, or is handed back by the failure as before).
  std::unique_ptr<ExchangeEnd::Unstarted> withdraw_ahead();
  // The Home's mark: this slot is on its list of slots to offer the next queued
  // request to (Dispatcher::wanting_), so it is listed once, not per request.
  bool ahead_listed() const { return ahead_listed_; }
  void set_ahead_listed(bool listed) { ahead_listed_ = listed; }
  // Closes the socket; an exchange in flight is answered as WorkerLost.
  void close();
  // Stop calling the owner (it is going away). The Home is still told: a
  // request handed back when the worker is gone must reach it.
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
  // An accepted WebSocket is open on this slot (hearthctl status).
  bool websocket_open() const { return ws_state_ == WsState::Open; }
  WsState ws_state() const { return ws_state_; }

  // http::WebSocketApp: the client's side of a WebSocket exchange.
  bool on_client_message(bool text, std::string_view data) override;
  void on_client_closed(uint16_t code) override;

 private:
  void do_read();
  void pause_for_client();  // the sink is full(): stop reading until it says when_writable
  bool decode(std::size_t n);  // feeds rbuf_[0, n) to the frame decoder; false: malformed
  void drain_dead_worker();  // close() of a busy slot: decode what the dead worker left unread
  void on_read(const boost::system::error_code& ec, std::size_t n);
  void handle_frame(const FrameHeader& h, std::string_view payload);
  void handle_body(std::string_view chunk);
  void do_write_body(std::shared_ptr<http::Request> req, uint64_t offset);
  // One non-blocking sendmsg(2) of `head` (wbuf_ or ahead_wbuf_) and then `body`: the bytes the socket
  // took (0 when it took none), or kSendFailed (the worker is gone).
  static constexpr std::size_t kSendFailed = static_cast<std::size_t>(-1);
  std::size_t send_now(std::string_view head, std::string_view body);
  // The request timeout: one timer armed across exchanges (arm_timer() only
  // when it would fire after deadline_; on_timer() re-arms when it fires early).
  void arm_timer();
  void cancel_timer();
  void on_timer(const boost::system::error_code& ec);
  void on_request_written();  // the request (and its body) went out, or the write failed
  void on_client_gone() override;
  void write_client_gone();
  void on_timeout();
  void fail_exchange(Outcome outcome);
  void maybe_idle();
  // The fields of a new exchange (send() and promote_ahead()): Busy, the Owner
  // told, the request timeout and busy_for() start now.
  void begin_exchange(std::shared_ptr<http::Request> request, std::shared_ptr<http::ResponseSink> sink,
                      bool internal, Retryable retryable);
  // The current END was read with a request queued ahead: end this exchange and
  // make that request the current one.
  void promote_ahead();
  void ask_ahead();  // tells the Home when can_take_ahead()
  void on_ahead_written(const std::shared_ptr<http::Request>& req);
  // The one return path: the Owner observes and decides the fate, the Home is told.
  void end_exchange(Outcome outcome, ExchangeEnd&& end);
  // RESPONSE_START and every declared body byte arrived (END may be missing).
  bool response_complete() const;
  // WebSocket exchanges.
  void handle_ws_frame(const FrameHeader& h, std::string_view payload);
  void ws_response_end(bool aborted);
  void queue_ws(FrameType type, uint8_t flags, uint64_t aux, std::string_view payload);
  void flush_ws();   // writes queued WS_RECEIVE/WS_DISCONNECT frames when no write is in flight
  void after_write();  // a write to the worker completed: queued frames, then maybe_idle()
  void end_ws();     // the exchange is over: detach from the link

  boost::asio::io_context& io_;
  Socket socket_;
  boost::asio::steady_timer timer_;
  // The request in flight times out at deadline_ (max: none); the timer waits
  // for armed_at_ (<= deadline_ while Busy) when timer_armed_.
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  std::chrono::steady_clock::time_point armed_at_{};
  bool timer_armed_ = false;
  Owner* owner_;
  Home* home_;
  const ClockSource& clock_;
  int worker_id_;
  int index_;
  std::chrono::milliseconds timeout_;
  State state_ = State::Idle;

  FrameDecoder decoder_;
  // Reads from the worker: a 100 KB response (START, BODY, END) in one read.
  // Not zeroed: its pages become resident only as large responses fill them.
  static constexpr std::size_t kReadBuffer = 256 * 1024;
  std::unique_ptr<char[]> rbuf_ = std::make_unique_for_overwrite<char[]>(kReadBuffer);
  bool reading_ = false;
  bool paused_ = false;  // not reading: the client's sink is full (back-pressure on the worker)

  // The exchange in flight.
  std::shared_ptr<http::Request> request_;
  std::shared_ptr<http::ResponseSink> sink_;
  std::string wbuf_;        // header + environ block
  Retryable retryable_ = Retryable::No;
  // One sendfile(2) of a spooled request body moves at most this much.
  static constexpr std::size_t kBodySendChunk = 1024 * 1024;
  bool writing_ = false;
  bool response_started_ = false;
  bool stream_ = false;  // RESPONSE_START had STREAM: nothing is queued ahead behind it
  // The response as the worker declared it: a body of this many bytes
  // (Content-Length), or none at all (HEAD, 1xx/204/304). When the worker is
  // lost after all of it arrived, the client's response is complete.
  std::optional<uint64_t> declared_body_;
  uint64_t body_received_ = 0;
  bool response_done_ = false;
  // CLIENT_GONE: owed (the client left while the request was still being written),
  // and written (or owed) for this exchange: RESPONSE_END alone is then a valid end.
  bool gone_pending_ = false;
  bool gone_sent_ = false;
  Outcome pending_outcome_ = Outcome::Ok;
  TimePoint started_at_{};
  std::string current_line_;
  int last_status_ = 0;
  bool internal_ = false;

  // The WebSocket exchange in flight (Request::websocket).
  std::shared_ptr<http::WebSocketLink> ws_;
  WsState ws_state_ = WsState::None;
  // Client messages queued for the worker beyond this: the client is paused.
  static constexpr std::size_t kWsQueueLimit = 256 * 1024;
  std::string ws_out_;   // frames for the worker, waiting for the write in flight
  std::string ws_wbuf_;  // the frames being written
  bool ws_client_paused_ = false;

  // Dispatch ahead: the request queued behind the current one (ahead_state_ != None).
  bool dispatch_ahead_ = false;
  bool ahead_listed_ = false;
  AheadState ahead_state_ = AheadState::None;
  uint64_t ahead_seq_ = 0;  // send_ahead() calls so far
  std::shared_ptr<http::Request> ahead_request_;
  std::shared_ptr<http::ResponseSink> ahead_sink_;
  std::string ahead_wbuf_;  // its header + environ block (swapped with wbuf_ when it starts)
  Retryable ahead_retryable_ = Retryable::No;
  // The request timeout fired with a request queued ahead: it was deferred once by
  // kAheadTimeoutGrace so that an END already in the socket is read first (the
  // worker may have started the ahead one; then it must not be handed back).
  bool timeout_deferred_ = false;
  static constexpr std::chrono::milliseconds kAheadTimeoutGrace{5};
};

}  // namespace hearth::supervisor
