#include "upstream/ws_tunnel.h"

#include <boost/asio/buffer.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <utility>
#include <vector>

#include "common/ascii.h"
#include "common/log.h"
#include "http/hop_by_hop.h"
#include "upstream/request_head.h"
#include "upstream/ws_handshake.h"
#include "websocket/frame_parser.h"

namespace hearth::upstream {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bws = boost::beast::websocket;
namespace close_code = hearth::websocket::close_code;

WsTunnel::WsTunnel(asio::io_context& io, Params p, const ClockSource& clock, std::shared_ptr<Backend> backend,
                   std::shared_ptr<Live> live, std::shared_ptr<http::Request> req,
                   std::shared_ptr<http::ResponseSink> sink, std::string request_id)
    : p_(std::move(p)), clock_(clock), backend_(std::move(backend)), live_(std::move(live)), req_(std::move(req)),
      sink_(std::move(sink)), link_(req_->websocket), request_id_(std::move(request_id)), ex_(io.get_executor()),
      timer_(io) {}

WsTunnel::~WsTunnel() {
  live_->erase(this);
  backend_->remove_tunnel(this);
}

void WsTunnel::start() {
  live_->insert(this);
  backend_->begin_request();
  backend_->add_tunnel(this);
  link_->set_app(std::weak_ptr<http::WebSocketApp>(shared_from_this()));
  do_pick();
}

// --- connecting and the upstream handshake ---------------------------------------

void WsTunnel::do_pick() {
  auto i = backend_->set().pick(clock_.now(), tried_);
  if (!i) {
    if (any_timed_out_) return fail(504, "Gateway Timeout: upstream " + p_.name + " did not answer in time\n");
    return fail(502, "Bad Gateway: no server of upstream " + p_.name + " answered\n");
  }
  server_ = *i;
  tried_ |= std::uint64_t{1} << server_;
  do_connect();
}

void WsTunnel::do_connect() {
  state_ = State::Connecting;
  const Server& s = backend_->servers()[server_];
  ws_.emplace(ex_);
  boost::system::error_code ec;
  ws_->next_layer().open(s.endpoint.protocol(), ec);
  if (ec) return server_failed("socket: " + ec.message());
  arm(p_.connect_timeout);
  ws_->next_layer().async_connect(s.endpoint, [self = shared_from_this()](const boost::system::error_code& ec) {
    self->on_connect(ec);
  });
}

void WsTunnel::on_connect(const boost::system::error_code& ec) {
  if (state_ != State::Connecting) return;  // Done: the client left
  if (timed_out_) {
    any_timed_out_ = true;
    return server_failed("connect timed out");
  }
  if (ec) return server_failed("connect: " + ec.message());
  do_handshake();
}

void WsTunnel::do_handshake() {
  state_ = State::Handshaking;
  HeadOptions ho;
  ho.target = p_.target;
  ho.default_host = backend_->servers()[server_].host;
  ho.request_id = request_id_;
  WsUpstreamHandshake hs = ws_upstream_handshake(*req_, ho);
  ws_->set_option(bws::stream_base::decorator([fields = std::move(hs.fields)](bws::request_type& r) {
    r.erase(beast::http::field::user_agent);
    for (const auto& f : fields) r.insert(f.name, f.value);
  }));
  ws_->read_message_max(p_.max_message_size);
  sink_->dispatched();
  arm(p_.timeout);
  ws_->async_handshake(res_, hs.host, p_.target, [self = shared_from_this()](const boost::system::error_code& ec) {
    self->on_handshake(ec);
  });
}

void WsTunnel::on_handshake(const boost::system::error_code& ec) {
  if (state_ != State::Handshaking) return;
  timer_.cancel();
  if (timed_out_) return fail(504, "Gateway Timeout: upstream " + p_.name + " did not answer in time\n");
  if (ec == bws::error::upgrade_declined) {
    backend_->set().on_success(server_);
    return relay_refusal();
  }
  if (ec) {
    // Reset or closed before an answer: the server is ejected and the next one
    // tried (a handshake is a GET). An answer that is not a valid one: 502.
    if (ec.category() == asio::error::get_system_category() || ec == asio::error::eof ||
        ec == beast::http::error::end_of_stream)
      return server_failed("handshake: " + ec.message());
    return fail(502, "Bad Gateway: upstream " + p_.name + " sent a malformed WebSocket handshake\n",
                "bad WebSocket handshake from " + backend_->servers()[server_].label + ": " + ec.message());
  }
  backend_->set().on_success(server_);
  std::vector<std::pair<std::string, std::string>> fields;
  for (const auto& f : res_) fields.emplace_back(std::string(f.name_string()), std::string(f.value()));
  std::string subprotocol(res_[beast::http::field::sec_websocket_protocol]);
  if (!link_->accept(subprotocol, ws_relayed_accept_fields(fields))) {
    // The client left before the answer: the upstream's side just ends.
    close_socket();
    return end(false);
  }
  state_ = State::Open;
  started_ = true;
  sink_->start(101, "Switching Protocols", {});  // for the access log and metrics; the socket is the link's now
  res_ = {};
  do_read();
  if (gone_away_) go_away();
}

void WsTunnel::relay_refusal() {
  int status = static_cast<int>(res_.result_int());
  std::vector<http::Header> headers;
  for (const auto& f : res_) {
    std::string_view name = f.name_string();
    if (http::is_hop_by_hop(name) || ascii::iequals(name, "content-length")) continue;
    headers.push_back(http::Header{std::string(name), std::string(f.value())});
  }
  std::string_view body = res_.body();
  if (body.size() > kMaxRefusalBody) body = body.substr(0, kMaxRefusalBody);
  close_socket();
  started_ = true;
  sink_->start(status, res_.reason(), std::move(headers));
  if (!body.empty()) sink_->body(body);
  end(true);
}

// --- open: messages both ways ----------------------------------------------------

void WsTunnel::do_read() {
  if (reading_ || state_ != State::Open) return;  // Closing: Beast's close reads what is left
  reading_ = true;
  ws_->async_read(rbuf_, [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
    self->on_read(ec);
  });
}

void WsTunnel::on_read(const boost::system::error_code& ec) {
  reading_ = false;
  if (state_ == State::Done) return;
  if (state_ == State::Closing) return;  // our close is under way: on_closed() ends the tunnel
  if (ec == bws::error::closed) {
    // The upstream closed (Beast answered its close frame): its code goes to the client.
    const bws::close_reason& r = ws_->reason();
    link_->close(static_cast<uint16_t>(r.code), std::string_view(r.reason.data(), r.reason.size()));
    close_socket();
    return end(true);
  }
  if (ec) return broken(ec == bws::error::message_too_big ? "a message over websocket.max_message_size"
                                                            : "read: " + ec.message());
  auto data = rbuf_.data();
  link_->send(ws_->got_text(), std::string_view(static_cast<const char*>(data.data()), data.size()));
  rbuf_.consume(rbuf_.size());
  if (link_->full()) {
    // The client is behind: the upstream waits (TCP holds it) until the link drained.
    // The callback holds the tunnel (no operation is pending meanwhile); the
    // link drops it when it closes, and the tunnel hears on_client_closed.
    link_->when_writable([self = shared_from_this()] { self->do_read(); });
    return;
  }
  do_read();
}

bool WsTunnel::on_client_message(bool text, std::string_view data) {
  if (state_ != State::Open || close_after_queue_) return true;  // closing: dropped
  queued_bytes_ += data.size();
  queue_.push_back(Message{text, std::string(data)});
  do_write();
  if (queued_bytes_ < kQueueLimit) return true;
  client_paused_ = true;
  return false;
}

void WsTunnel::do_write() {
  if (writing_ || state_ != State::Open) return;
  if (queue_.empty()) {
    if (close_after_queue_) start_close(*close_after_queue_, "");
    return;
  }
  writing_ = true;
  ws_->text(queue_.front().text);
  ws_->async_write(asio::buffer(queue_.front().data),
                   [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                     self->on_written(ec);
                   });
}

void WsTunnel::on_written(const boost::system::error_code& ec) {
  writing_ = false;
  if (state_ == State::Done) return;
  if (!queue_.empty()) {
    queued_bytes_ -= queue_.front().data.size();
    queue_.pop_front();
  }
  if (ec) {
    if (state_ == State::Open) broken("write: " + ec.message());
    return;
  }
  if (client_paused_ && queued_bytes_ < kQueueLimit) {
    client_paused_ = false;
    link_->resume_reading();
  }
  do_write();
}

// --- closing ---------------------------------------------------------------------

void WsTunnel::on_client_closed(uint16_t code) {
  switch (state_) {
    case State::Connecting:
    case State::Handshaking:
      // The client left before the upstream answered.
      close_socket();
      return end(false);
    case State::Open:
      if (close_after_queue_) return;
      close_after_queue_ = ws_upstream_close_code(code);
      return do_write();
    case State::Closing:
    case State::Done:
      return;
  }
}

void WsTunnel::go_away() {
  switch (state_) {
    case State::Connecting:
    case State::Handshaking:
      gone_away_ = true;  // once open, it closes at once
      return;
    case State::Open: {
      link_->close(close_code::kGoingAway, "upstream restarting");
      // What the client sent and is not yet being written is dropped.
      while (queue_.size() > (writing_ ? 1u : 0u)) {
        queued_bytes_ -= queue_.back().data.size();
        queue_.pop_back();
      }
      close_after_queue_ = close_code::kGoingAway;
      return do_write();
    }
    case State::Closing:
    case State::Done:
      return;
  }
}

void WsTunnel::start_close(uint16_t code, std::string_view reason) {
  state_ = State::Closing;
  arm(kCloseTimeout);
  bws::close_reason cr;
  if (code != 0) {
    cr.code = code;
    cr.reason = std::string(reason);
  }
  ws_->async_close(cr, [self = shared_from_this()](const boost::system::error_code& ec) { self->on_closed(ec); });
}

void WsTunnel::on_closed(const boost::system::error_code&) {
  if (state_ == State::Done) return;
  close_socket();  // also ends a read still pending
  end(true);
}

void WsTunnel::abort() {
  if (state_ == State::Done) return;
  if (state_ == State::Open || state_ == State::Closing) link_->close(close_code::kGoingAway, "server shutting down");
  close_socket();
  end(started_);
}

// --- failures and the end --------------------------------------------------------

void WsTunnel::server_failed(const std::string& why) {
  timer_.cancel();
  close_socket();
  const Server& s = backend_->servers()[server_];
  backend_->set().on_failure(server_, clock_.now());
  HLOG_CTX(Warn, p_.name, "server " << s.label << " failed (" << why << "); ejected for a few seconds");
  do_pick();
}

void WsTunnel::fail(int status, const std::string& text, const std::string& log) {
  timer_.cancel();
  close_socket();
  if (!log.empty()) HLOG_CTX(Warn, p_.name, log);
  if (!sink_->client_gone()) {
    sink_->simple(status, "text/plain", text);
    sink_finished_ = true;
  }
  end(false);
}

void WsTunnel::broken(const std::string& why) {
  HLOG_CTX(Warn, p_.name, "WebSocket to " << backend_->servers()[server_].label << " broke (" << why
                                          << "); closing the client with 1011");
  link_->close(close_code::kInternalError, "");
  close_socket();
  end(false);
}

void WsTunnel::end(bool ok) {
  if (state_ == State::Done) return;
  state_ = State::Done;
  timer_.cancel();
  live_->erase(this);
  backend_->remove_tunnel(this);
  backend_->end_request();
  link_->when_writable(nullptr);  // a callback still waiting there holds this tunnel
  link_->detach_app();
  queue_.clear();
  queued_bytes_ = 0;
  if (!sink_finished_) sink_->finish(ok && started_);
  sink_finished_ = true;
}

void WsTunnel::close_socket() {
  if (!ws_) return;
  boost::system::error_code ignored;
  ws_->next_layer().close(ignored);
}

void WsTunnel::arm(std::chrono::milliseconds d) {
  timed_out_ = false;
  armed_for_ = state_;
  timer_.expires_after(d);
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->state_ == State::Done || self->state_ != self->armed_for_) return;
    self->timed_out_ = true;
    self->close_socket();  // the step in flight fails; its handler sees timed_out_
  });
}

}  // namespace hearth::upstream
