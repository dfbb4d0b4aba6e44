#include "supervisor/worker_slot.h"

#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>

#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "common/log.h"
#include "http/request_checks.h"

namespace hearth::supervisor {

namespace asio = boost::asio;

const char* WorkerSlot::outcome_name(Outcome o) {
  switch (o) {
    case Outcome::Ok: return "ok";
    case Outcome::AppAborted: return "app_aborted";
    case Outcome::WorkerLost: return "worker_lost";
    case Outcome::Timeout: return "timeout";
    case Outcome::ProtocolError: return "protocol_error";
  }
  return "?";
}

WorkerSlot::WorkerSlot(asio::io_context& io, Socket socket, Owner* owner, Home* home, int worker_id, int index,
                       std::chrono::milliseconds timeout, const ClockSource& clock)
    : io_(io), socket_(std::move(socket)), timer_(io), owner_(owner), home_(home), clock_(clock), worker_id_(worker_id),
      index_(index), timeout_(timeout) {}

WorkerSlot::~WorkerSlot() = default;

void WorkerSlot::start() { do_read(); }

std::chrono::milliseconds WorkerSlot::busy_for() const {
  if (state_ != State::Busy && state_ != State::Broken) return std::chrono::milliseconds{0};
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now() - started_at_);
}

void WorkerSlot::do_read() {
  if (reading_ || !socket_.is_open()) return;
  reading_ = true;
  socket_.async_read_some(asio::buffer(rbuf_.get(), kReadBuffer),
                          [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                            self->reading_ = false;
                            self->on_read(ec, n);
                          });
}

void WorkerSlot::on_read(const boost::system::error_code& ec, std::size_t n) {
  if (ec) {
    if (state_ == State::Closed) return;
    if (state_ == State::Busy && !response_done_) fail_exchange(Outcome::WorkerLost);
    close();
    return;
  }
  if (!decode(n)) {
    HLOG_CTX(Error, "worker " + std::to_string(worker_id_), "malformed frame from worker; closing its channel");
    if (state_ == State::Busy && !response_done_) fail_exchange(Outcome::ProtocolError);
    close();
    return;
  }
  if (state_ == State::Closed) return;
  if (state_ == State::Busy && !response_done_ && sink_ && sink_->full()) {
    pause_for_client();
    return;
  }
  do_read();
}

bool WorkerSlot::decode(std::size_t n) {
  return decoder_.feed(std::string_view(rbuf_.get(), n), [this](const FrameDecoder::Event& ev) {
    if (state_ == State::Closed) return;
    switch (ev.kind) {
      case FrameDecoder::Event::Kind::Frame: handle_frame(ev.header, ev.payload); break;
      case FrameDecoder::Event::Kind::BodyChunk: handle_body(ev.payload); break;
      case FrameDecoder::Event::Kind::Error: break;
    }
  });
}

void WorkerSlot::drain_dead_worker() {
  // The worker's exit can be reaped before our read of its last bytes completes (or
  // while the slot is paused for a slow client): what it wrote is still in the socket's
  // receive buffer, and a response whose declared body is all there must stand
  // (fail_exchange) instead of being cut short. Bounded: a dead worker writes no more.
  if (!socket_.is_open()) return;
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);  // synchronous reads below: would_block instead of waiting (closed next)
  while (state_ == State::Busy && !response_done_) {
    std::size_t n = socket_.read_some(asio::buffer(rbuf_.get(), kReadBuffer), ec);
    if (ec || n == 0 || !decode(n)) return;
  }
}

void WorkerSlot::pause_for_client() {
  // The worker blocks on its socket once our receive buffer fills: it is paused, and
  // the client's spool stops growing (max_response_spool). `timeout` still runs.
  paused_ = true;
  sink_->when_writable([weak = weak_from_this()] {
    auto self = weak.lock();
    if (!self) return;
    // Never re-enter the sink's caller: resume on the next turn of the loop.
    asio::post(self->io_, [self] {
      if (!self->paused_) return;
      self->paused_ = false;
      self->do_read();
    });
  });
}

void WorkerSlot::handle_frame(const FrameHeader& h, std::string_view payload) {
  switch (h.type) {
    case FrameType::WorkerReady:
      if (owner_) owner_->on_worker_ready(*this, payload);
      return;
    case FrameType::WorkerFailed:
      if (owner_) owner_->on_worker_failed(*this, payload);
      return;
    case FrameType::ResponseStart: {
      if (state_ != State::Busy || response_started_ || response_done_) break;
      std::vector<http::Header> headers;
      headers.reserve(8);  // room for the app's few and the ones the sinks add (X-Request-ID, Via)
      auto head = scan_response_start(payload, [&](std::string_view n, std::string_view v) {
        headers.push_back(http::Header{std::string(n), std::string(v)});
      });
      if (!head) {
        HLOG_CTX(Error, "worker " + std::to_string(worker_id_), "malformed response head from the app");
        fail_exchange(Outcome::ProtocolError);
        return;
      }
      response_started_ = true;
      last_status_ = head->status;
      declared_body_.reset();
      if (request_->is_head || head->status < 200 || head->status == 204 || head->status == 304) {
        declared_body_ = 0;
      } else {
        for (const auto& h : headers) {
          // The canonical spelling: the usual name then compares word for word, without case folding.
          if (!http::iequals(h.name, "Content-Length")) continue;
          auto len = http::parse_content_length(h.value);
          if (!len || (declared_body_ && *declared_body_ != *len)) {
            declared_body_.reset();  // unusable: the sink will not trust it either
            break;
          }
          declared_body_ = len;
        }
      }
      if (h.flags & kFlagStream) [[unlikely]] {
        sink_->set_streaming();
        stream_ = true;
        // A stream may last: the request queued behind it goes elsewhere.
        if (holds_ahead() && home_) home_->on_ahead_blocked(*this);
      }
      sink_->start(head->status, head->reason, std::move(headers));
      return;
    }
    case FrameType::WsAccept:
    case FrameType::WsSend:
    case FrameType::WsClose:
      if (state_ != State::Busy || response_done_ || ws_state_ == WsState::None) break;
      handle_ws_frame(h, payload);
      return;
    case FrameType::ResponseEnd: {
      if (state_ != State::Busy || response_done_) break;
      deadline_ = std::chrono::steady_clock::time_point::max();  // the armed timer finds nothing to do
      bool aborted = (h.flags & kFlagAborted) != 0;
      if (ws_state_ != WsState::None && ws_state_ != WsState::Connecting) return ws_response_end(aborted);
      if (!response_started_ && !gone_sent_) {
        // END without START: the worker broke the protocol (unless told CLIENT_GONE).
        fail_exchange(Outcome::ProtocolError);
        return;
      }
      sink_->watch_client(nullptr);
      sink_->finish(!aborted && response_started_);
      response_done_ = true;
      pending_outcome_ = aborted ? Outcome::AppAborted : Outcome::Ok;
      maybe_idle();
      return;
    }
    default:
      break;
  }
  // A frame that does not fit the slot's state.
  HLOG_CTX(Error, "worker " + std::to_string(worker_id_),
           "unexpected frame type " << static_cast<int>(h.type) << " from worker");
  if (state_ == State::Busy && !response_done_) fail_exchange(Outcome::ProtocolError);
  else close();
}

void WorkerSlot::handle_body(std::string_view chunk) {
  if (state_ != State::Busy || !response_started_ || response_done_) {
    if (state_ == State::Busy && !response_done_) fail_exchange(Outcome::ProtocolError);
    return;
  }
  body_received_ += chunk.size();
  if (!sink_->client_gone()) [[likely]] {
    sink_->body(chunk);
  } else {
    on_client_gone();  // a sink that does not tell (watch_client) still gets the worker told
  }
}

void WorkerSlot::on_client_gone() {
  // A WebSocket's client leaving is WS_DISCONNECT (the session tells the slot), never CLIENT_GONE.
  if (state_ != State::Busy || response_done_ || gone_sent_ || ws_state_ != WsState::None) return;
  // A request queued ahead is behind the current one in the socket: the worker
  // would take a CLIENT_GONE after it for that request's. Taken back first, it is
  // followed by its own CLIENT_GONE, a pair the worker skips (owing a bare END for
  // it) before it finds this one. If it cannot be taken back, the worker finishes
  // the current one; its response is discarded (handle_body).
  if (holds_ahead()) {
    if (home_) home_->on_ahead_blocked(*this);
    if (holds_ahead()) return;
  }
  gone_sent_ = true;
  if (writing_) {
    gone_pending_ = true;  // after the request: the worker reads frames in order
    return;
  }
  write_client_gone();
}

void WorkerSlot::write_client_gone() {
  static const std::string kFrame = encode_frame(FrameType::ClientGone, {});
  HLOG_CTX(Debug, "worker " + std::to_string(worker_id_), "client gone: " << current_request_line());
  writing_ = true;
  asio::async_write(socket_, asio::buffer(kFrame), [self = shared_from_this()](const boost::system::error_code&,
                                                                               std::size_t) {
    self->writing_ = false;
    self->maybe_idle();
  });
}

void WorkerSlot::on_request_written() {
  writing_ = false;
  if (gone_pending_) [[unlikely]] {
    gone_pending_ = false;
    if (state_ == State::Busy && !response_done_ && socket_.is_open()) return write_client_gone();
  }
  after_write();
  ask_ahead();
}

// --- Dispatch ahead ---------------------------------------------------------------

bool WorkerSlot::ahead_eligible(const http::Request& request) {
  if (request.websocket || request.body.size() != 0) return false;
  const std::string& m = request.method;
  return m == "GET" || m == "HEAD" || m == "OPTIONS";
}

namespace {
// The sink of a withdrawn request's exchange: whatever the worker answers (a bare
// END when it skipped the request, rarely a whole response) goes nowhere.
class DiscardSink final : public http::ResponseSink {
 public:
  void start(int, std::string_view, std::vector<http::Header>) override {}
  void body(std::string_view) override {}
  void finish(bool) override {}
  bool client_gone() const override { return true; }
};
}  // namespace

std::unique_ptr<ExchangeEnd::Unstarted> WorkerSlot::withdraw_ahead() {
  if (ahead_state_ != AheadState::Written || writing_ || !socket_.is_open()) return nullptr;
  static const std::string kFrame = encode_frame(FrameType::ClientGone, {});
  ssize_t n;
  do {
    n = ::send(socket_.native_handle(), kFrame.data(), kFrame.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(kFrame.size())) {
    if (n > 0) {
      // A unix stream socket takes 16 bytes whole or not at all; should it not, the
      // framing is lost: close (posted: the caller is in the middle of its own work),
      // and the failure hands the request back as usual.
      HLOG_CTX(Error, "worker " + std::to_string(worker_id_), "short write of CLIENT_GONE; closing the slot");
      asio::post(socket_.get_executor(), [self = shared_from_this()] { self->close(); });
    }
    return nullptr;  // full (EAGAIN) or gone: the read side reports a dead worker
  }
  static const auto kDiscard = std::make_shared<DiscardSink>();
  auto out = std::make_unique<ExchangeEnd::Unstarted>();
  out->request = ahead_request_;  // the slot keeps it too: its log line, its timeout
  out->env_block = ahead_wbuf_.substr(kHeaderSize);
  out->sink = std::exchange(ahead_sink_, kDiscard);
  out->retryable = std::exchange(ahead_retryable_, Retryable::No);
  ahead_state_ = AheadState::Withdrawn;
  return out;
}

bool WorkerSlot::can_take_ahead() const {
  return dispatch_ahead_ && state_ == State::Busy && !response_done_ && !writing_ && !gone_pending_ &&
         !stream_ &&
         ahead_state_ == AheadState::None && ws_state_ == WsState::None && request_ && socket_.is_open() &&
         owner_ && owner_->may_dispatch_ahead(*this);
}

void WorkerSlot::ask_ahead() {
  // The Home checks can_take_ahead() only when a request waits: nothing more per
  // request while none does (docs/profile.md, instructions per request).
  if (dispatch_ahead_ && home_) home_->on_ahead_wanted(*this);
}

void WorkerSlot::send_ahead(std::shared_ptr<http::Request> request, std::string env_block,
                            std::shared_ptr<http::ResponseSink> sink, Retryable retryable) {
  ahead_state_ = AheadState::Writing;
  ++ahead_seq_;
  ahead_request_ = std::move(request);
  ahead_sink_ = std::move(sink);
  ahead_retryable_ = retryable;
  const std::string_view mem = ahead_request_->body.memory();
  ahead_wbuf_.resize(kHeaderSize);
  encode_header(FrameHeader{FrameType::Request, 0, static_cast<uint32_t>(env_block.size()), mem.size()},
                ahead_wbuf_.data());
  ahead_wbuf_ += env_block;
  const std::size_t sent = send_now(ahead_wbuf_, mem);
  if (sent == ahead_wbuf_.size() + mem.size() || sent == kSendFailed) {
    // Sent, or the worker is gone: the read side reports it and the request is handed back.
    ahead_state_ = AheadState::Written;
    return;
  }
  // The rest goes async; the slot writes nothing else meanwhile (writing_). The
  // handler holds the request so its body outlives the write.
  writing_ = true;
  auto req = ahead_request_;
  std::array<asio::const_buffer, 2> bufs{asio::buffer(ahead_wbuf_) + sent,
                                         asio::buffer(mem) + (sent > ahead_wbuf_.size() ? sent - ahead_wbuf_.size() : 0)};
  asio::async_write(socket_, bufs, [self = shared_from_this(), req](const boost::system::error_code&, std::size_t) {
    self->on_ahead_written(req);
  });
}

void WorkerSlot::on_ahead_written(const std::shared_ptr<http::Request>& req) {
  // A write error means the worker is gone; the read side reports it.
  writing_ = false;
  if (ahead_request_ == req && ahead_state_ == AheadState::Writing) {
    ahead_state_ = AheadState::Written;  // still behind the current exchange
    return;
  }
  if (request_ == req && state_ == State::Busy) on_request_written();  // it became the current one meanwhile
}

void WorkerSlot::promote_ahead() {
  // The current exchange ended (its END was read): the Owner and the Home hear
  // of it as of any exchange (last_status/last_internal are still its own), and
  // the slot stays Busy, so a draining worker is not told to stop.
  const Outcome outcome = pending_outcome_;
  retryable_ = Retryable::No;
  end_ws();
  request_.reset();
  sink_.reset();
  current_line_.clear();
  const bool withdrawn = ahead_state_ == AheadState::Withdrawn;
  ExchangeEnd end;
  end.ahead_started = !withdrawn;  // a withdrawn one left the Home's count when taken back
  end_exchange(outcome, std::move(end));
  if (state_ != State::Busy || ahead_state_ == AheadState::None) return;  // cannot happen: nothing above fails it

  auto request = std::move(ahead_request_);
  auto sink = std::move(ahead_sink_);
  const Retryable retryable = ahead_retryable_;
  const bool written = ahead_state_ != AheadState::Writing;
  ahead_state_ = AheadState::None;
  ahead_retryable_ = Retryable::No;
  wbuf_.swap(ahead_wbuf_);  // a write still in flight keeps pointing at the same bytes
  begin_exchange(std::move(request), std::move(sink), withdrawn, retryable);
  if (withdrawn) [[unlikely]] {
    gone_sent_ = true;  // its CLIENT_GONE is in the socket already: a bare END is its valid end
  } else {
    sink_->dispatched();  // it leaves the wait now (queue-time metrics)
    if (sink_->client_gone()) on_client_gone();  // left while queued ahead: the worker hears it now
  }
  if (written && !writing_) on_request_written();
}

bool WorkerSlot::response_complete() const {
  return response_started_ && declared_body_ && body_received_ >= *declared_body_;
}

[[gnu::always_inline]] inline void WorkerSlot::begin_exchange(std::shared_ptr<http::Request> request, std::shared_ptr<http::ResponseSink> sink,
                                bool internal, Retryable retryable) {
  state_ = State::Busy;
  if (owner_) owner_->on_exchange_start(*this);
  retryable_ = retryable;
  internal_ = internal;
  last_status_ = 0;
  request_ = std::move(request);
  sink_ = std::move(sink);
  response_started_ = false;
  stream_ = false;
  response_done_ = false;
  gone_pending_ = false;
  gone_sent_ = false;
  timeout_deferred_ = false;
  declared_body_.reset();
  body_received_ = 0;
  pending_outcome_ = Outcome::Ok;
  started_at_ = clock_.now();
  sink_->watch_client(this);
  current_line_.clear();  // current_request_line() reads request_ while it is held
  ws_ = request_->websocket;
  ws_state_ = ws_ ? WsState::Connecting : WsState::None;
  if (ws_) ws_->set_app(std::shared_ptr<http::WebSocketApp>(shared_from_this(), this));

  if (timeout_.count() > 0) {
    // The timer stays armed across exchanges and is moved only when it would
    // fire too late (on_timer re-arms when it fires early): no schedule, cancel
    // and aborted completion per request (docs/profile.md, issue 14).
    deadline_ = std::chrono::steady_clock::now() + timeout_;
    if (!timer_armed_ || deadline_ < armed_at_) arm_timer();
  }
}

void WorkerSlot::send(std::shared_ptr<http::Request> request, std::string env_block,
                      std::shared_ptr<http::ResponseSink> sink, bool internal, Retryable retryable) {
  begin_exchange(std::move(request), std::move(sink), internal, retryable);

  const http::Spool& body = request_->body;
  wbuf_.resize(kHeaderSize);
  encode_header(FrameHeader{FrameType::Request, 0, static_cast<uint32_t>(env_block.size()), body.size()},
                wbuf_.data());
  wbuf_ += env_block;

  writing_ = true;
  // Nearly always the socket takes the whole frame at once: one sendmsg(2)
  // here instead of an Asio write operation and its posted completion
  // (docs/profile.md, issue 14). Only what it does not take goes async.
  const std::string_view mem = body.in_memory() ? body.memory() : std::string_view();
  const std::size_t sent = body.in_memory() ? send_now(wbuf_, mem) : 0;
  if (body.in_memory() && (sent == wbuf_.size() + mem.size() || sent == kSendFailed)) {
    // Sent, or the worker is gone (the read side reports it, as after a failed async_write).
    return on_request_written();
  }
  auto self = shared_from_this();
  // The handlers hold the request so its body outlives the write even if the
  // exchange fails meanwhile.
  auto req = request_;
  if (body.in_memory()) {
    std::array<asio::const_buffer, 2> bufs{asio::buffer(wbuf_) + sent,
                                           asio::buffer(mem) + (sent > wbuf_.size() ? sent - wbuf_.size() : 0)};
    asio::async_write(socket_, bufs, [self, req](const boost::system::error_code& ec, std::size_t) {
      // A write error means the worker is gone; the read side reports it.
      self->on_request_written();
    });
  } else {
    asio::async_write(socket_, asio::buffer(wbuf_), [self, req](const boost::system::error_code& ec, std::size_t) {
      if (ec) return self->on_request_written();
      self->do_write_body(req, 0);
    });
  }
}

std::size_t WorkerSlot::send_now(std::string_view head, std::string_view body) {
  iovec iov[2] = {{const_cast<char*>(head.data()), head.size()}, {const_cast<char*>(body.data()), body.size()}};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = body.empty() ? 1 : 2;
  ssize_t n;
  do {
    n = ::sendmsg(socket_.native_handle(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n >= 0) return static_cast<std::size_t>(n);
  return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : kSendFailed;
}

void WorkerSlot::do_write_body(std::shared_ptr<http::Request> req, uint64_t offset) {
  // A spooled body goes from its temp file to the worker's socket with
  // sendfile(2): no read into a buffer and no copy through user space. The
  // socket is non-blocking; EAGAIN waits for writability (the worker reads
  // the body as the app asks for it).
  const http::Spool& body = req->body;
  boost::system::error_code ignored;
  if (!socket_.native_non_blocking()) socket_.native_non_blocking(true, ignored);
  while (offset < body.size()) {
    off_t off = static_cast<off_t>(offset);
    std::size_t count = static_cast<std::size_t>(std::min<uint64_t>(body.size() - offset, kBodySendChunk));
    ssize_t n;
    do {
      n = ::sendfile(socket_.native_handle(), body.fd(), &off, count);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
      offset += static_cast<uint64_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      socket_.async_wait(asio::socket_base::wait_write,
                         [self = shared_from_this(), req, offset](const boost::system::error_code& ec) {
                           if (ec || self->state_ != State::Busy) return self->on_request_written();
                           self->do_write_body(req, offset);
                         });
      return;
    }
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
      // The worker is gone; the read side reports it (as after a failed async_write).
      return on_request_written();
    }
    // 0 (the temp file is shorter than recorded) or a read error.
    HLOG_CTX(Error, "worker " + std::to_string(worker_id_),
             "sending the spooled request body failed: " << (n < 0 ? std::strerror(errno) : "short file"));
    writing_ = false;
    fail_exchange(Outcome::ProtocolError);
    return;
  }
  on_request_written();
}

void WorkerSlot::arm_timer() {
  timer_armed_ = true;
  armed_at_ = deadline_;
  timer_.expires_at(deadline_);  // aborts a wait still pending (its handler ignores that)
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) { self->on_timer(ec); });
}

void WorkerSlot::cancel_timer() {
  deadline_ = std::chrono::steady_clock::time_point::max();
  timer_armed_ = false;
  timer_.cancel();
}

void WorkerSlot::on_timer(const boost::system::error_code& ec) {
  if (ec == asio::error::operation_aborted) return;  // re-armed or cancelled: that call set the state
  timer_armed_ = false;
  if (state_ != State::Busy || response_done_ || deadline_ == std::chrono::steady_clock::time_point::max()) return;
  if (std::chrono::steady_clock::now() < deadline_) return arm_timer();  // armed for an earlier exchange
  on_timeout();
}

void WorkerSlot::on_timeout() {
  if (state_ != State::Busy || response_done_) return;
  const bool unstarted_ahead = holds_ahead();
  if (unstarted_ahead && paused_ && !reading_) {
    // Paused for a slow client, the slot reads nothing: the worker may have written
    // its END (and started the request queued ahead) into the socket long ago. No
    // read is in flight, so read what is there now: an END found ends this exchange
    // and starts the ahead one (with its own timeout), which then stays here.
    const auto* before = request_.get();
    for (int i = 0; i < 16 && state_ == State::Busy && request_.get() == before; ++i) {
      ssize_t n;
      do {
        n = ::recv(socket_.native_handle(), rbuf_.get(), kReadBuffer, MSG_DONTWAIT);
      } while (n < 0 && errno == EINTR);
      if (n <= 0 || !decode(static_cast<std::size_t>(n))) break;
    }
    if (state_ != State::Busy || request_.get() != before) {
      if (state_ == State::Busy && paused_) {
        paused_ = false;  // the pause was for the ended exchange's client
        do_read();
      }
      return;
    }
  }
  if (unstarted_ahead && !timeout_deferred_) {
    // An END the worker wrote just now may wait unread in the socket (or in a read
    // completion not run yet): then the worker has started the request queued ahead,
    // which must not be sent elsewhere too. Read first; time out a moment later.
    timeout_deferred_ = true;
    deadline_ = std::chrono::steady_clock::now() + kAheadTimeoutGrace;
    arm_timer();
    return;
  }
  HLOG_CTX(Error, "worker " + std::to_string(worker_id_),
           "request timed out after " << timeout_.count() << " ms: " << current_request_line());
  fail_exchange(Outcome::Timeout);
}

void WorkerSlot::fail_exchange(Outcome outcome) {
  cancel_timer();
  if (sink_) sink_->watch_client(nullptr);
  if (ws_state_ == WsState::Open) {
    // 1001: the worker went away (killed after graceful_timeout, or died); 1011: it failed.
    ws_->close(outcome == Outcome::WorkerLost ? 1001 : 1011, "");
  }
  end_ws();
  if (request_) current_line_ = request_->method + " " + request_->target;  // kept while Broken
  ExchangeEnd end;
  end.outcome = response_done_ ? ExchangeOutcome::Done : ExchangeOutcome::Failed;
  if (outcome == Outcome::WorkerLost && retryable_ == Retryable::Yes && home_ && sink_ && !response_started_ &&
      !response_done_ && !sink_->client_gone() && request_ && wbuf_.size() >= kHeaderSize) {
    // Nothing reached the client: hand the request back instead of a 502.
    end.outcome = ExchangeOutcome::Retry;
    end.request = std::move(request_);
    end.env_block = wbuf_.substr(kHeaderSize);
    end.sink = std::move(sink_);
  } else if (sink_ && !response_done_) {
    if (!response_started_) {
      if (outcome == Outcome::Timeout)
        sink_->simple(504, "text/plain", "Gateway Timeout\n");
      else
        sink_->simple(502, "text/plain", "Bad Gateway\n");
    } else if (response_complete()) {
      // The worker died (or broke) after the whole declared body, before
      // RESPONSE_END: the client has a complete, well-framed response. Ending
      // it as broken would close a connection whose head promised keep-alive,
      // and the client's *next* request on it would meet a close without any
      // response (issue 16).
      HLOG_CTX(Warn, "worker " + std::to_string(worker_id_),
               "lost after a complete response to " << current_line_ << " (" << outcome_name(outcome)
                                                    << "); the response stands");
      sink_->finish(true);
      end.outcome = ExchangeOutcome::Done;
    } else {
      sink_->finish(false);
    }
  }
  if (ahead_state_ == AheadState::Withdrawn) {
    // Taken back already: nothing to hand back.
    ahead_request_.reset();
    ahead_sink_.reset();
    ahead_state_ = AheadState::None;
  } else if (ahead_state_ != AheadState::None) {
    // The current END was not read, so the worker never started it: hand it back.
    end.ahead = std::make_unique<ExchangeEnd::Unstarted>();
    end.ahead->request = std::move(ahead_request_);
    end.ahead->env_block = ahead_wbuf_.substr(kHeaderSize);  // a copy: a write may still use ahead_wbuf_
    end.ahead->sink = std::move(ahead_sink_);
    end.ahead->retryable = ahead_retryable_;
    ahead_state_ = AheadState::None;
    ahead_retryable_ = Retryable::No;
  }
  retryable_ = Retryable::No;
  response_done_ = true;
  request_.reset();
  sink_.reset();
  state_ = outcome == Outcome::WorkerLost ? State::Closed : State::Broken;
  if (paused_) {
    paused_ = false;  // read on, so a worker that dies (or is killed after a timeout) is seen
    do_read();
  }
  end_exchange(outcome, std::move(end));
}

void WorkerSlot::maybe_idle() {
  if (state_ != State::Busy || !response_done_) return;
  // A write in flight now is the ahead request's own (nothing else is written
  // while one is queued ahead): it goes on as the new exchange's.
  if (ahead_state_ != AheadState::None) return promote_ahead();
  if (writing_) return;
  state_ = State::Idle;
  retryable_ = Retryable::No;
  end_ws();
  request_.reset();
  sink_.reset();
  current_line_.clear();
  end_exchange(pending_outcome_, ExchangeEnd{});
}

void WorkerSlot::end_exchange(Outcome outcome, ExchangeEnd&& end) {
  // The slot's state is final for this exchange: the Owner and the Home may
  // send it the next request at once.
  end.fate = owner_ ? owner_->on_exchange_done(*this, outcome) : SlotFate::Withheld;
  if (home_) home_->on_exchange_end(shared_from_this(), std::move(end));
}

// --- WebSockets -------------------------------------------------------------------

void WorkerSlot::handle_ws_frame(const FrameHeader& h, std::string_view payload) {
  switch (h.type) {
    case FrameType::WsAccept: {
      if (ws_state_ == WsState::Closed) return;  // the client left first; the worker hears WS_DISCONNECT
      if (ws_state_ != WsState::Connecting) break;
      // "subprotocol\0name\0value\0..."
      std::size_t a = payload.find('\0');
      std::string_view subprotocol = payload.substr(0, a);
      std::vector<http::Header> headers;
      bool ok = true;
      std::string_view rest = a == std::string_view::npos ? std::string_view() : payload.substr(a + 1);
      while (ok && !rest.empty()) {
        std::size_t b = rest.find('\0');
        if (b == std::string_view::npos) {
          ok = false;
          break;
        }
        std::string_view name = rest.substr(0, b);
        rest.remove_prefix(b + 1);
        std::size_t c = rest.find('\0');
        std::string_view value = rest.substr(0, c);
        rest = c == std::string_view::npos ? std::string_view() : rest.substr(c + 1);
        ok = detail::valid_response_field(name, value);
        headers.push_back(http::Header{std::string(name), std::string(value)});
      }
      ok = ok && detail::valid_response_field("Sec-WebSocket-Protocol", subprotocol);
      if (!ok) break;
      if (!ws_->accept(subprotocol, std::move(headers))) {
        // The client is gone: the app hears it as a disconnect.
        ws_state_ = WsState::Closed;
        queue_ws(FrameType::WsDisconnect, 0, 1006, {});
        flush_ws();
        return;
      }
      ws_state_ = WsState::Open;
      cancel_timer();  // `timeout` bounds the handshake, not the socket's life
      response_started_ = true;
      last_status_ = 101;
      sink_->start(101, "Switching Protocols", {});  // for the access log; the socket is the link's now
      return;
    }
    case FrameType::WsSend:
      if (ws_state_ == WsState::Open) {
        ws_->send((h.flags & kFlagText) != 0, payload);
        return;
      }
      if (ws_state_ == WsState::Closed) return;  // crossed the client's close
      break;
    case FrameType::WsClose:
      if (ws_state_ == WsState::Connecting) {
        // Closed before accepting: the handshake is refused with 403 (as uvicorn does).
        ws_state_ = WsState::Refused;
        response_started_ = true;
        last_status_ = 403;
        sink_->simple(403, "text/plain", "403 Forbidden\n");
        return;
      }
      if (ws_state_ == WsState::Open) {
        ws_state_ = WsState::Closed;
        ws_->close(static_cast<uint16_t>(h.aux), payload);
        return;
      }
      if (ws_state_ == WsState::Closed) return;
      break;
    default:
      break;
  }
  HLOG_CTX(Error, "worker " + std::to_string(worker_id_),
           "unexpected WebSocket frame type " << static_cast<int>(h.type) << " from worker");
  fail_exchange(Outcome::ProtocolError);
}

void WorkerSlot::ws_response_end(bool aborted) {
  // The app returned: an open socket is closed for it (1000, or 1011 if it failed).
  if (ws_state_ == WsState::Open) ws_->close(aborted ? 1011 : 1000, "");
  if (ws_state_ != WsState::Refused) sink_->finish(true);
  response_done_ = true;
  pending_outcome_ = aborted ? Outcome::AppAborted : Outcome::Ok;
  maybe_idle();
}

bool WorkerSlot::on_client_message(bool text, std::string_view data) {
  if (state_ != State::Busy || response_done_ || ws_state_ != WsState::Open) return true;
  queue_ws(FrameType::WsReceive, text ? kFlagText : 0, 0, data);
  flush_ws();
  if (ws_out_.size() < kWsQueueLimit) return true;
  ws_client_paused_ = true;
  return false;
}

void WorkerSlot::on_client_closed(uint16_t code) {
  if (state_ != State::Busy || response_done_) return;
  if (ws_state_ != WsState::Open && ws_state_ != WsState::Connecting) return;
  ws_state_ = WsState::Closed;
  queue_ws(FrameType::WsDisconnect, 0, code, {});
  flush_ws();
}

void WorkerSlot::queue_ws(FrameType type, uint8_t flags, uint64_t aux, std::string_view payload) {
  const std::size_t at = ws_out_.size();
  ws_out_.resize(at + kHeaderSize);
  encode_header(FrameHeader{type, flags, static_cast<uint32_t>(payload.size()), aux}, ws_out_.data() + at);
  ws_out_.append(payload);
}

void WorkerSlot::flush_ws() {
  if (writing_ || ws_out_.empty() || !socket_.is_open()) return;
  writing_ = true;
  ws_wbuf_.swap(ws_out_);
  ws_out_.clear();
  asio::async_write(socket_, asio::buffer(ws_wbuf_), [self = shared_from_this()](const boost::system::error_code& ec,
                                                                                  std::size_t) {
    self->writing_ = false;
    self->ws_wbuf_.clear();
    if (ec) return self->maybe_idle();  // the worker is gone; the read side reports it
    self->after_write();
  });
}

void WorkerSlot::after_write() {
  if (ws_client_paused_ && ws_out_.size() < kWsQueueLimit && ws_) {
    ws_client_paused_ = false;
    ws_->resume_reading();
  }
  flush_ws();
  maybe_idle();
}

[[gnu::always_inline]] inline void WorkerSlot::end_ws() {
  if (ws_) {
    ws_->detach_app();
    ws_.reset();
  }
  ws_state_ = WsState::None;
  ws_out_.clear();
  ws_client_paused_ = false;
}

void WorkerSlot::close() {
  if (state_ == State::Closed && !socket_.is_open()) return;
  if (state_ == State::Busy && !response_done_) drain_dead_worker();
  if (state_ == State::Busy && !response_done_) fail_exchange(Outcome::WorkerLost);
  state_ = State::Closed;
  cancel_timer();
  boost::system::error_code ignored;
  socket_.close(ignored);
  if (owner_) owner_->on_slot_closed(*this);
}

}  // namespace hearth::supervisor
