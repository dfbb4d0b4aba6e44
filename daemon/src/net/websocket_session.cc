#include "net/websocket_session.h"

#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <algorithm>
#include <utility>

#include "common/log.h"
#include "net/http_connection.h"
#include "websocket/frame_encoder.h"
#include "websocket/handshake.h"

namespace hearth::net {

namespace asio = boost::asio;
namespace ws = hearth::websocket;
using boost::system::error_code;

namespace {
constexpr std::size_t kReadChunk = 16 * 1024;
}

WebSocketSession::WebSocketSession(std::shared_ptr<ServerState> state, std::weak_ptr<HttpConnection> conn,
                                   std::string key)
    : state_(std::move(state)),
      conn_(std::move(conn)),
      key_(std::move(key)),
      parser_(ws::FrameParser::Options{state_->limits.ws_max_message_size, true}),
      max_output_(std::max<std::size_t>(kMinMaxOutput, 2 * state_->limits.ws_max_message_size + 64 * 1024)) {}

WebSocketSession::~WebSocketSession() { state_->websockets.erase(this); }

bool WebSocketSession::accept(std::string_view subprotocol, std::vector<http::Header> headers) {
  if (phase_ != Phase::Handshake) return false;
  auto conn = conn_.lock();
  if (!conn || !conn->hand_over_websocket(*this)) {
    // The client left before the app answered: nothing to upgrade.
    phase_ = Phase::Closed;
    app_told_ = true;
    return false;
  }
  // adopt() ran: Open, with the socket. The 101 goes out first.
  out_.insert(0, ws::switching_protocols_head(key_, subprotocol, headers));
  do_write();
  // Bytes the client sent right after its head, then the first read: from the
  // loop, not inside the app side's accept call.
  asio::post(stream_->get_executor(), [self = shared_from_this()] {
    self->process();
    self->do_read();
  });
  arm_timer();
  return true;
}

void WebSocketSession::adopt(Stream stream, std::string_view leftover) {
  stream_.emplace(std::move(stream));
  timer_.emplace(stream_->get_executor());
  phase_ = Phase::Open;
  state_->websockets.insert(this);
  last_input_ = Clock::now();
  pending_.assign(leftover.data(), leftover.size());
}

void WebSocketSession::connection_gone() {
  if (phase_ != Phase::Handshake) return;
  phase_ = Phase::Closed;
  tell_app_closed(ws::close_code::kAbnormal);
}

// --- from the client -----------------------------------------------------------

void WebSocketSession::do_read() {
  if (reading_ || paused_ || close_received_ || phase_ == Phase::Closed || phase_ == Phase::Handshake) return;
  reading_ = true;
  rbuf_.resize(kReadChunk);
  stream_->async_read_some(asio::buffer(rbuf_), [self = shared_from_this()](const error_code& ec, std::size_t n) {
    self->on_read(ec, n);
  });
}

void WebSocketSession::on_read(const error_code& ec, std::size_t n) {
  reading_ = false;
  if (phase_ == Phase::Closed) return;
  if (ec) {
    // EOF or reset: the client is gone, with or without its close frame.
    close_received_ = true;
    tell_app_closed(ws::close_code::kAbnormal);
    return close_now();
  }
  last_input_ = Clock::now();
  ping_sent_ = false;
  pending_.append(rbuf_.data(), n);
  process();
  do_read();
}

void WebSocketSession::process() {
  using Kind = ws::FrameParser::Event::Kind;
  std::string_view rest = pending_;
  while (!paused_ && !close_received_ && phase_ != Phase::Closed) {
    auto ev = parser_.next(rest);
    if (!ev) break;
    switch (ev->kind) {
      case Kind::Message:
        if (phase_ != Phase::Open) break;  // closing: messages are dropped
        ++state_->websocket_messages_in;
        if (auto app = app_.lock()) {
          if (!app->on_client_message(ev->text, ev->data)) paused_ = true;
        }
        break;
      case Kind::Ping:
        if (!close_sent_) queue_frame(ws::Opcode::Pong, ev->data);
        break;
      case Kind::Pong:
        break;
      case Kind::Close:
        close_received_ = true;
        if (!close_sent_) {
          // Echo the client's code (an empty close for none) and tell the app.
          start_close(ev->code == ws::close_code::kNoStatus ? 0 : ev->code, "");
          tell_app_closed(ev->code);
        }
        break;
      case Kind::Error:
        HLOG_CTX(Debug, state_->name, "websocket: closing with " << ev->code << " (bad frame from the client)");
        close_received_ = true;  // nothing more is read: flush our close, then close the socket
        start_close(ev->code, "");
        tell_app_closed(ev->code);
        break;
    }
  }
  pending_.erase(0, pending_.size() - rest.size());
  do_write();
  if (close_received_ && close_sent_ && !writing_ && out_.empty()) close_now();
}

void WebSocketSession::resume_reading() {
  if (!paused_) return;
  paused_ = false;
  if (phase_ == Phase::Closed) return;
  last_input_ = Clock::now();  // the idle clock restarts: we were not reading
  arm_timer();
  asio::post(stream_->get_executor(), [self = shared_from_this()] {
    self->process();
    self->do_read();
  });
}

// --- to the client --------------------------------------------------------------

void WebSocketSession::send(bool text, std::string_view data) {
  if (phase_ != Phase::Open || close_sent_) return;
  ++state_->websocket_messages_out;
  queue_frame(text ? ws::Opcode::Text : ws::Opcode::Binary, data);
  if (out_.size() + wbuf_.size() > max_output_) {
    HLOG_CTX(Debug, state_->name, "websocket: the client does not read; closing");
    tell_app_closed(ws::close_code::kAbnormal);
    return close_now();
  }
  do_write();
}

void WebSocketSession::close(uint16_t code, std::string_view reason) {
  if (phase_ != Phase::Open) return;
  if (!ws::valid_close_code(code)) code = ws::close_code::kNormal;  // 1005, 1006, out of range: not sendable
  app_told_ = true;  // the app closed first: it needs no disconnect
  start_close(code, reason);
  do_write();
}

void WebSocketSession::going_away() {
  if (phase_ != Phase::Open) return;
  start_close(ws::close_code::kGoingAway, "server shutting down");
  tell_app_closed(ws::close_code::kGoingAway);
  do_write();
}

void WebSocketSession::queue_frame(ws::Opcode op, std::string_view payload) { ws::append_frame(out_, op, payload); }

void WebSocketSession::start_close(uint16_t code, std::string_view reason) {
  if (close_sent_ || phase_ == Phase::Closed) return;
  close_sent_ = true;
  if (code == 0) {
    ws::append_frame(out_, ws::Opcode::Close, "");
  } else {
    ws::append_close(out_, code, reason);
  }
  phase_ = Phase::Closing;
  close_deadline_ = Clock::now() + kCloseTimeout;
  arm_timer();
}

void WebSocketSession::do_write() {
  if (writing_ || out_.empty() || phase_ == Phase::Closed || phase_ == Phase::Handshake) return;
  wbuf_.swap(out_);
  out_.clear();
  writing_ = true;
  write_since_ = Clock::now();
  arm_timer();
  asio::async_write(*stream_, asio::buffer(wbuf_), [self = shared_from_this()](const error_code& ec, std::size_t n) {
    self->on_write(ec, n);
  });
}

void WebSocketSession::on_write(const error_code& ec, std::size_t) {
  writing_ = false;
  write_since_ = TimePoint::max();
  wbuf_.clear();
  if (phase_ == Phase::Closed) return;
  if (ec) {
    tell_app_closed(ws::close_code::kAbnormal);
    return close_now();
  }
  if (close_received_ && close_sent_ && out_.empty()) return close_now();
  do_write();
  if (writable_cb_ && !full()) asio::post(state_->io, std::exchange(writable_cb_, nullptr));
}

void WebSocketSession::when_writable(std::function<void()> cb) {
  if (!cb || phase_ == Phase::Closed || phase_ == Phase::Handshake) {
    writable_cb_ = nullptr;
    return;
  }
  if (!full()) {
    asio::post(state_->io, std::move(cb));
    return;
  }
  writable_cb_ = std::move(cb);
}

void WebSocketSession::tell_app_closed(uint16_t code) {
  if (app_told_) return;
  app_told_ = true;
  // From the loop: the app side may be inside a call to this session.
  asio::post(state_->io, [weak = app_, code] {
    if (auto app = weak.lock()) app->on_client_closed(code);
  });
}

void WebSocketSession::abort() {
  tell_app_closed(ws::close_code::kGoingAway);
  close_now();
}

void WebSocketSession::close_now() {
  if (phase_ == Phase::Closed) return;
  phase_ = Phase::Closed;
  writable_cb_ = nullptr;
  tell_app_closed(ws::close_code::kAbnormal);
  if (stream_) {
    error_code ignored;
    stream_->socket().close(ignored);
  }
  if (timer_) timer_->cancel();
  state_->websockets.erase(this);
}

// --- timer ------------------------------------------------------------------------

void WebSocketSession::arm_timer() {
  if (phase_ == Phase::Closed || !timer_) return;
  TimePoint next = close_deadline_;
  const Duration idle = state_->limits.ws_idle_timeout;
  if (phase_ == Phase::Open && idle.count() > 0 && !paused_) {  // paused: the silence is the worker's
    next = std::min(next, ping_sent_ ? last_input_ + idle : last_input_ + idle / 2);
  }
  if (write_since_ != TimePoint::max()) next = std::min(next, write_since_ + state_->limits.send_timeout);
  if (next == TimePoint::max()) return;
  if (timer_armed_ && armed_at_ <= next) return;
  timer_armed_ = true;
  armed_at_ = next;
  timer_->expires_at(next);
  timer_->async_wait([self = shared_from_this()](const error_code& ec) { self->on_timer(ec); });
}

void WebSocketSession::on_timer(const error_code& ec) {
  if (ec == asio::error::operation_aborted) return;
  timer_armed_ = false;
  armed_at_ = TimePoint::max();
  if (phase_ == Phase::Closed) return;
  const TimePoint now = Clock::now();
  if (now >= close_deadline_) return close_now();  // the client never answered our close
  if (write_since_ != TimePoint::max() && now >= write_since_ + state_->limits.send_timeout) {
    HLOG_CTX(Debug, state_->name, "websocket: send timeout");
    tell_app_closed(ws::close_code::kAbnormal);
    return close_now();
  }
  const Duration idle = state_->limits.ws_idle_timeout;
  if (phase_ == Phase::Open && idle.count() > 0 && !paused_) {
    if (now >= last_input_ + idle) {
      HLOG_CTX(Debug, state_->name, "websocket: idle timeout");
      start_close(ws::close_code::kGoingAway, "idle timeout");
      tell_app_closed(ws::close_code::kGoingAway);
      do_write();
    } else if (!ping_sent_ && now >= last_input_ + idle / 2) {
      ping_sent_ = true;
      queue_frame(ws::Opcode::Ping, "");
      do_write();
    }
  }
  arm_timer();
}

}  // namespace hearth::net
