#include "net/http_connection.h"

#include "lazylibs/libraries.h"
#include "net/h2_connection.h"
#include "net/idle_parker.h"
#include "net/slab_pool.h"
#include "net/websocket_session.h"
#include "websocket/handshake.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <utility>

#include "common/log.h"
#include "http/status_text.h"

namespace hearth::net {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using boost::system::error_code;

namespace {

constexpr std::size_t kReadChunk = 64 * 1024;     // bodies (a 1 MiB upload: ~16 reads, not 64)
constexpr std::size_t kHeadReadChunk = 2 * 1024;  // idle and request heads
// A body with at least this much declared still to come is read this much at a
// time: a 1 MiB upload in ~5 reads (and ~5 writes to its spool file), not ~17.
constexpr std::size_t kLongBodyReadChunk = 256 * 1024;
// While a response is in progress, pipelined bytes are read ahead only up to this.
constexpr std::size_t kReadAheadCap = 64 * 1024;
constexpr Duration kLinger{2000};
// Heap a closed connection leaves free (the connection, its buffers, the request and
// the sink it last used, the reactor's state): reported to the MemoryTrimmer, so that
// a burst of clients that leave is trimmed. Measured: 64 and 256 keep-alive clients
// left 5.7 and 6.6 KiB each in the heap (net/memory_trimmer.h).
constexpr uint64_t kConnectionReleases = 6 * 1024;
// drain() on a connection accepted a moment ago that has sent nothing yet: its
// client cannot know we are draining and is about to send a request; closing at
// once would fail it with no response (seen in `hearthctl upgrade` under load).
constexpr Duration kFirstRequestGrace{1000};
// One sendfile(2) call sends at most this much; a larger file is continued
// from a posted handler so that other connections get their turn.
constexpr std::size_t kSendfileChunk = 1024 * 1024;
constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";

}  // namespace

HttpConnection::HttpConnection(Stream stream, std::shared_ptr<ServerState> state, uint64_t id)
    : stream_(std::move(stream)),
      timer_(stream_.get_executor()),
      state_(std::move(state)),
      id_(id != 0 ? id : state_->next_connection_id++),
      reader_(state_->limits, state_->temp_dir, &state_->requests, &state_->spool_files) {
  auto ex = stream_.get_executor();
  if (auto* io = ex.target<asio::io_context::executor_type>()) io_ = &io->context();
}

std::shared_ptr<HttpConnection> HttpConnection::create(Stream stream, std::shared_ptr<ServerState> state, uint64_t id) {
  return std::allocate_shared<HttpConnection>(SlabAllocator<HttpConnection>(), std::move(stream), std::move(state), id);
}

template <class F>
void HttpConnection::post(F&& f) {
  if (io_ != nullptr) asio::post(*io_, std::forward<F>(f));
  else asio::post(stream_.get_executor(), std::forward<F>(f));
}

HttpConnection::~HttpConnection() {
  if (sink_) sink_->detach();
  state_->connections.erase(this);
  state_->trimmer->released(kConnectionReleases);
}

void HttpConnection::start() {
  state_->connections.insert(this);
  fill_addresses();
  phase_ = Phase::Idle;
  // A fresh connection gets header_timeout to send its first byte.
  set_deadline(Clock::now() + state_->limits.header_timeout);
  // Accepted after the drain began (a completion queued before the listener closed): the
  // same first-request grace as a connection accepted just before it.
  if (state_->draining) drain();
  if (state_->parker) state_->parker->connection_opened();
  process_input();
}

// --- parking an idle keep-alive connection (net/idle_parker.h) --------------

void HttpConnection::resume(TimePoint keepalive_deadline) {
  state_->connections.insert(this);
  fill_addresses();
  received_any_ = true;
  phase_ = Phase::Idle;
  set_deadline(keepalive_deadline);
  if (state_->parker) state_->parker->connection_opened();
  // The parker saw the socket readable: read now (the request, or EOF), so a
  // keep-alive deadline that passed meanwhile cannot drop a request that came.
  read_in_flight_ = true;
  on_readable(error_code());
}

bool HttpConnection::parkable(TimePoint now, Duration idle_for) const {
  if (phase_ != Phase::Idle || stream_.is_tls() || !received_any_ || first_request_grace_) return false;
  if (!read_in_flight_ || write_in_flight_ || flush_posted_ || sink_ || keep_self_ || ws_pending_) return false;
  if (buffer_.size() != 0 || state_->draining || !state_->parker) return false;
  // In Idle after a response, deadline_ is the keep-alive deadline set when it went idle.
  if (deadline_ == TimePoint::max()) return false;
  return deadline_ - state_->limits.keepalive_timeout + idle_for <= now;
}

bool HttpConnection::try_park(TimePoint now, Duration idle_for) {
  if (!parkable(now, idle_for)) return false;
  auto self = shared_from_this();  // released when this function returns
  error_code ec;
  // Cancels the readability wait (its handler sees Closed) and deregisters the
  // descriptor from the loop's reactor, leaving the socket open.
  const int fd = stream_.socket().release(ec);
  if (ec) return false;
  phase_ = Phase::Closed;
  timer_.cancel();
  state_->connections.erase(this);
  ParkedConnection parked{id_, stream_.take_slot(), stream_.take_proxied_client()};
  state_->parker->park(fd, deadline_, std::move(parked));
  return true;
}

void HttpConnection::fill_addresses() {
  error_code ec;
  auto to_tcp = [](const Stream::Socket::endpoint_type& g, std::string* addr, uint16_t* port) {
    int family = g.data()->sa_family;
    if (family != AF_INET && family != AF_INET6) return false;
    asio::ip::tcp::endpoint t;
    std::memcpy(t.data(), g.data(), g.size());
    t.resize(g.size());
    auto a = t.address();
    if (a.is_v6() && a.to_v6().is_v4_mapped()) {
      // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d.
      a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    }
    *addr = a.to_string();
    *port = t.port();
    return true;
  };
  auto remote = stream_.socket().remote_endpoint(ec);
  bool tcp = !ec && to_tcp(remote, &peer_addr_, &peer_port_);
  if (const auto* client = stream_.proxied_client()) {
    peer_addr_ = client->addr;
    peer_port_ = client->port;
  }
  auto local = stream_.socket().local_endpoint(ec);
  if (!ec) to_tcp(local, &local_addr_, &local_port_);
  if (tcp) {
    int one = 1;
    ::setsockopt(stream_.socket().native_handle(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
}

// --- reading and parsing ---------------------------------------------------

// Inlined into process_input's two call sites (hot path).
[[gnu::always_inline]] inline bool HttpConnection::on_head_complete() {
  head_done_at_ = Clock::now();
  keep_alive_ = reader_.parser().keep_alive() && !state_->draining;
  return true;
}

void HttpConnection::process_input() {
  using Step = http::RequestReader::Step;
  for (;;) {
    if (phase_ == Phase::Closed || phase_ == Phase::Responding || phase_ == Phase::Lingering) return;
    if (write_in_flight_) return;  // "100 Continue" going out; resumed by its completion
    // The parsing and its states are http::RequestReader's; this loop does the I/O
    // and the deadlines for what it reports.
    const auto was = reader_.phase();
    std::size_t used = 0;
    const Step step = reader_.step(
        std::string_view(static_cast<const char*>(buffer_.data().data()), buffer_.size()), used);
    buffer_.consume(used);
    if (was == http::RequestReader::Phase::Idle && reader_.phase() != was) {
      phase_ = Phase::Head;
      set_deadline(Clock::now() + state_->limits.header_timeout);
    }
    switch (step) {
      case Step::NeedMore:
        return ensure_read();
      case Step::Reject:
        return respond_error(reader_.reject_status());
      case Step::H2Preface:
        if (!lazylibs::nghttp2_usable()) {  // logged once; answered as with http.http2 = false
          reader_.decline_h2();
          continue;
        }
        return upgrade_to_h2(std::string(static_cast<const char*>(buffer_.data().data()), buffer_.size()));
      case Step::Complete:
        if (was != http::RequestReader::Phase::Body) on_head_complete();
        return dispatch();
      case Step::HeadDone: {
        on_head_complete();
        phase_ = Phase::Body;
        set_deadline(Clock::now() + state_->limits.body_timeout);
        http::RequestParser& parser = reader_.parser();
        if (parser.expects_continue() && parser.request()->version >= 11 && buffer_.size() == 0) {
          return send_continue();
        }
        continue;
      }
    }
  }
}

void HttpConnection::send_continue() {
  write_in_flight_ = true;
  asio::async_write(stream_, asio::const_buffer(kContinue, sizeof kContinue - 1),
                    [self = shared_from_this()](const error_code& ec, std::size_t) {
                      self->write_in_flight_ = false;
                      if (self->phase_ == Phase::Closed) return;
                      if (ec) return self->close_now();
                      // A read may already be pending; its completion resumes parsing.
                      if (!self->read_in_flight_) self->process_input();
                    });
  ensure_read();
}

void HttpConnection::ensure_read() {
  if (!read_in_flight_ && phase_ != Phase::Closed) do_read();
}

void HttpConnection::do_read() {
  read_in_flight_ = true;
  if ((phase_ == Phase::Idle || phase_ == Phase::Responding) &&
      (!stream_.is_tls() || !stream_.tls()->has_pending())) {
    // Between requests or while a response is in progress: wait for
    // readability holding no buffer, then read (on_readable). An idle
    // keep-alive connection then costs its object and the kernel's socket, not
    // a pending 2-4 KiB read buffer (docs/benchmarks.md, idle connections).
    // TLS too, unless OpenSSL already holds bytes (has_pending: the socket may
    // never turn readable for them): no SSL_read that only finds EAGAIN, and
    // no record buffer taken and released for it (docs/profile.md, section 2).
    if (phase_ == Phase::Idle && buffer_.size() == 0) buffer_.shrink_to_fit();
    side_.reset();
    stream_.socket().async_wait(asio::socket_base::wait_read,
                                [self = shared_from_this()](const error_code& ec) { self->on_readable(ec); });
    return;
  }
  start_stream_read();
}

// A read through the stream (TLS: OpenSSL tries first, then waits as it asks).
void HttpConnection::start_stream_read() {
  if (phase_ == Phase::Responding) {
    // Read-ahead while a response is in progress goes to a side buffer: the
    // main buffer is parsed (and compacted) when the response completes,
    // possibly while this read is still pending.
    side_read_ = true;
    if (!side_) side_ = std::make_unique<std::array<char, kSideReadChunk>>();
    stream_.async_read_some(asio::buffer(*side_),
                            [self = shared_from_this()](const error_code& ec, std::size_t n) {
                              self->on_read(ec, n);
                            });
    return;
  }
  side_read_ = false;
  std::size_t chunk = kReadChunk;
  if (phase_ == Phase::Body) {
    const auto left = reader_.parser().content_length_remaining();
    if (left && *left >= kLongBodyReadChunk + buffer_.size()) chunk = kLongBodyReadChunk;
  }
  if (phase_ == Phase::Idle || phase_ == Phase::Head) {
    // A request head is small: an idle keep-alive connection holds a 2 KiB
    // buffer, not 16 KiB (10,000 idle connections cost RSS).
    chunk = kHeadReadChunk;
    if (buffer_.size() == 0) buffer_.shrink_to_fit();
    side_.reset();
  }
  stream_.async_read_some(buffer_.prepare(chunk),
                          [self = shared_from_this()](const error_code& ec, std::size_t n) {
                            self->on_read(ec, n);
                          });
}

void HttpConnection::on_readable(const error_code& ec) {
  if (ec || phase_ == Phase::Closed) {
    read_in_flight_ = false;
    if (phase_ == Phase::Closed) return;
    return close_now();
  }
  // Head-sized reads between requests, larger ones while a response is in
  // progress (pipelined requests, or a body that arrives ahead of time).
  const std::size_t chunk = phase_ == Phase::Idle ? kHeadReadChunk : kSideReadChunk;
  auto mb = buffer_.prepare(chunk);
  side_read_ = false;
  if (stream_.is_tls()) {
    TlsSocket::Result r = stream_.tls()->read_now(mb.data(), mb.size());
    if (r.want == TlsSocket::Want::Read) {
      read_in_flight_ = false;
      return do_read();  // no whole record yet (or it was not application data): wait again
    }
    // OpenSSL must write first (rare): the stream's read waits for that itself.
    if (r.want == TlsSocket::Want::Write) return start_stream_read();
    return on_read(r.ec, r.n);
  }
  ssize_t n;
  do {
    n = ::recv(stream_.socket().native_handle(), mb.data(), mb.size(), MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    read_in_flight_ = false;
    return do_read();  // readiness without data (e.g. already taken): wait again
  }
  if (n < 0) return on_read(error_code(errno, boost::system::system_category()), 0);
  if (n == 0) return on_read(asio::error::eof, 0);
  on_read(error_code(), static_cast<std::size_t>(n));
}

void HttpConnection::on_read(const error_code& ec, std::size_t n) {
  read_in_flight_ = false;
  if (phase_ == Phase::Closed) return;
  if (ec) {
    if (phase_ == Phase::Responding && sink_) {
      HLOG_CTX(Debug, state_->name, "connection " << id_ << ": client went away: " << ec.message());
    }
    return close_now();
  }
  if (side_read_) {
    auto mb = buffer_.prepare(n);
    std::memcpy(mb.data(), side_->data(), n);
  }
  buffer_.commit(n);
  if (n > 0) received_any_ = true;
  switch (phase_) {
    case Phase::Lingering:
      buffer_.consume(buffer_.size());
      return do_read();
    case Phase::Responding:
      if (!error_response_ && buffer_.size() < kReadAheadCap) do_read();
      return;
    case Phase::Body:
      set_deadline(Clock::now() + state_->limits.body_timeout);
      break;
    default:
      break;
  }
  process_input();
}

// --- handing over and responding ------------------------------------------

void HttpConnection::dispatch() {
  http::RequestParser& parser = reader_.parser();
  std::shared_ptr<http::Request> req = std::move(parser.request());
  keep_alive_ = keep_alive_ && !state_->draining;
  std::optional<websocket::Handshake> ws;
  if (parser.upgrade()) {
    ws = websocket::check_handshake(*req);
    // A WebSocket handshake ends this connection's HTTP/1.1, accepted or not.
    if (ws->verdict != websocket::Handshake::Verdict::NotWebSocket) keep_alive_ = false;
  }
  req->keep_alive = keep_alive_;
  req->peer_addr = peer_addr_;
  req->peer_port = peer_port_;
  req->local_addr = local_addr_;
  req->local_port = local_port_;
  req->connection_id = id_;
  req->tls = stream_.is_tls();
  req->received_at = head_done_at_;
  request_ = req;
  const bool body_failed = parser.body_failed();
  begin_response(keep_alive_, req->version, req->is_head);
  if (ws && !body_failed && !prepare_websocket(*req, std::move(*ws))) return;
  if (body_failed) {
    HLOG_CTX(Warn, state_->name, "request body spool failed: " << parser.body_error().message());
    sink_->simple(500, "text/plain", "500 Internal Server Error: request body could not be stored\n");
    return;
  }
  // Notice a client that goes away while the handler runs. Not for a WebSocket
  // handshake: the socket may be handed over, with no read in flight.
  if (!req->websocket) ensure_read();
  if (state_->handler == nullptr) {
    sink_->simple(503, "text/plain", "503 Service Unavailable\n");
    return;
  }
  std::shared_ptr<http::BufferedResponseSink> sink = sink_;
  // Output produced synchronously inside handle() is written right after it
  // returns (one write for head + body) instead of via a posted flush.
  in_handler_ = true;
  try {
    state_->handler->handle(std::move(req), sink);
  } catch (const std::exception& e) {
    // Handlers report failures through the sink; an escaping exception is a
    // bug, but it must not take the event loop down.
    HLOG_CTX(Error, state_->name, "request handler threw: " << e.what());
    if (!sink->started()) {
      sink->simple(500, "text/plain", "500 Internal Server Error\n");
    } else {
      sink->finish(false);
    }
  }
  in_handler_ = false;
  if (sink_ == sink) do_write();
}

bool HttpConnection::prepare_websocket(http::Request& req, websocket::Handshake hs) {
  using Verdict = websocket::Handshake::Verdict;
  if (hs.verdict == Verdict::NotWebSocket) return true;
  if (hs.verdict != Verdict::Ok) {
    HLOG_CTX(Debug, state_->name, "connection " << id_ << ": bad WebSocket handshake: " << hs.error);
    error_response_ = true;
    std::vector<http::Header> extra;
    if (hs.verdict == Verdict::BadVersion) extra.push_back({"Sec-WebSocket-Version", "13"});
    sink_->simple(400, "text/plain", "400 Bad Request: " + hs.error + "\n", std::move(extra));
    return false;
  }
  ws_pending_ = std::make_shared<WebSocketSession>(state_, weak_from_this(), std::move(hs.key));
  req.websocket = ws_pending_;
  return true;
}

bool HttpConnection::hand_over_websocket(WebSocketSession& ws) {
  if (phase_ != Phase::Responding || read_in_flight_ || write_in_flight_ || flush_posted_) return false;
  if (sink_ && sink_->started()) return false;
  auto self = std::move(keep_self_);  // released when this function returns
  phase_ = Phase::Closed;
  timer_.cancel();
  state_->connections.erase(this);
  if (sink_) {
    sink_->detach();
    sink_.reset();
  }
  request_.reset();
  ws_pending_.reset();
  ws.adopt(std::move(stream_),
           std::string_view(static_cast<const char*>(buffer_.data().data()), buffer_.size()));
  buffer_.consume(buffer_.size());
  return true;
}

void HttpConnection::respond_error(int status) {
  if (write_in_flight_) return close_now();  // mid "100 Continue": just drop
  HLOG_CTX(Debug, state_->name, "connection " << id_ << ": rejecting request with " << status);
  keep_alive_ = false;
  error_response_ = true;
  begin_response(false, 11, false);
  std::string text = std::to_string(status);
  text.push_back(' ');
  text.append(http::reason_phrase(status));
  text.push_back('\n');
  sink_->simple(status, "text/plain", text);
}

void HttpConnection::begin_response(bool keep_alive, int version, bool is_head) {
  phase_ = Phase::Responding;
  keep_self_ = shared_from_this();
  set_deadline(TimePoint::max());
  http::BufferedResponseSink::Options options{version, is_head, keep_alive, /*sendfile=*/!stream_.is_tls(),
                                              &state_->response_spool_bytes, state_->error_pages};
  auto* transport = static_cast<http::SinkTransport*>(this);
  if (!state_->spare_sinks.empty()) {
    sink_ = std::move(state_->spare_sinks.back());
    state_->spare_sinks.pop_back();
    sink_->reuse(transport, std::move(options));
    return;
  }
  sink_ = std::make_shared<http::BufferedResponseSink>(state_->limits, state_->temp_dir, &state_->date,
                                                       transport, std::move(options));
}

void HttpConnection::release_sink() {
  // Nobody else holds it (the handler's wrapper is gone): keep it for the next
  // response on this server instead of freeing it and its head buffer.
  if (sink_.use_count() == 1 && state_->spare_sinks.size() < ServerState::kSpareSinks && sink_->recycle()) {
    state_->spare_sinks.push_back(std::move(sink_));
    return;
  }
  sink_->detach();
  sink_.reset();
}

void HttpConnection::on_sink_output() {
  if (phase_ != Phase::Responding || write_in_flight_ || flush_posted_ || in_handler_) return;
  flush_posted_ = true;
  post([self = shared_from_this()] {
    self->flush_posted_ = false;
    self->do_write();
  });
}

std::size_t HttpConnection::write_now(std::string_view first, std::string_view second) {
  // Plain socket, nothing in flight (no async write, no wait for writability,
  // no "100 Continue"): the bytes may go out now, ahead of nothing. Only a
  // write: the response's completion is still found by do_write().
  if (phase_ != Phase::Responding || write_in_flight_ || stream_.is_tls()) return 0;
  iovec iov[2];
  int count = 0;
  if (!first.empty()) iov[count++] = {const_cast<char*>(first.data()), first.size()};
  if (!second.empty()) iov[count++] = {const_cast<char*>(second.data()), second.size()};
  if (count == 0) return 0;
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = static_cast<std::size_t>(count);
  ssize_t n;
  do {
    n = ::sendmsg(stream_.socket().native_handle(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  return n > 0 ? static_cast<std::size_t>(n) : 0;  // an error: do_write() meets it on the rest
}

void HttpConnection::do_write() {
  if (phase_ != Phase::Responding || write_in_flight_ || !sink_) return;
  std::string_view out = sink_->next_output();
  if (!out.empty() && !stream_.is_tls() && inline_writes_ < kMaxInlineWrites) {
    // Plain socket: try the write now. A response that fits the socket buffer
    // (nearly all) completes here, without a queued operation and a posted
    // completion (one epoll_wait less per request). The depth bound keeps a
    // burst of pipelined requests from recursing through next_request().
    ssize_t n;
    do {
      n = ::send(stream_.socket().native_handle(), out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      HLOG_CTX(Debug, state_->name, "connection " << id_ << ": write failed: " << std::strerror(errno));
      return close_now();
    }
    if (n > 0) {
      sink_->consume(static_cast<std::size_t>(n));
      // A short write means the socket buffer is full: wait, do not retry now.
      if (static_cast<std::size_t>(n) < out.size()) return wait_writable();
      return write_next_inline();
    }
    return wait_writable();  // EAGAIN
  }
  if (!out.empty() && stream_.is_tls() && inline_writes_ < kMaxInlineWrites) {
    // TLS: the same, with one SSL_write (a record of up to 16 KiB, one write(2)):
    // the response leaves now instead of through a posted completion and
    // another turn of the loop.
    TlsSocket::Result r = stream_.tls()->write_now(out.data(), out.size());
    if (r.ec) {
      HLOG_CTX(Debug, state_->name, "connection " << id_ << ": write failed: " << r.ec.message());
      return close_now();
    }
    if (r.want == TlsSocket::Want::Write) return wait_writable();  // retried with the same bytes
    if (r.want == TlsSocket::Want::Done) {
      sink_->consume(r.n);
      return write_next_inline();
    }
    // Want::Read (OpenSSL must read first, rare): the stream's write waits for it.
  }
  if (!out.empty()) {
    write_in_flight_ = true;
    set_deadline(Clock::now() + state_->limits.send_timeout);
    stream_.async_write_some(asio::const_buffer(out.data(), out.size()),
                             [self = shared_from_this()](const error_code& ec, std::size_t n) {
                               self->on_write(ec, n);
                             });
    return;
  }
  if (sink_->file_region().length > 0) return do_sendfile();
  set_deadline(TimePoint::max());
  if (sink_->complete()) on_response_done();
}

// Plain TCP (or Unix) only: TLS connections never get a file region (the sink
// reads the file into next_output() instead). The socket is non-blocking;
// EAGAIN waits for writability, which is the backpressure.
void HttpConnection::do_sendfile() {
  auto region = sink_->file_region();
  auto& sock = stream_.socket();
  error_code ec;
  if (!sock.native_non_blocking()) sock.native_non_blocking(true, ec);
  off_t off = static_cast<off_t>(region.offset);
  std::size_t count = static_cast<std::size_t>(std::min<uint64_t>(region.length, kSendfileChunk));
  ssize_t n;
  do {
    n = ::sendfile(sock.native_handle(), region.fd, &off, count);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return wait_writable();
  if (n <= 0) {
    // 0: the file is shorter than when it was opened; the promised length
    // cannot be delivered, so the client must see the connection end.
    if (n < 0) {
      HLOG_CTX(Debug, state_->name, "connection " << id_ << ": sendfile failed: " << std::strerror(errno));
    } else {
      HLOG_CTX(Warn, state_->name, "connection " << id_ << ": a static file shrank while being sent");
    }
    sink_->file_failed();
    return close_now();
  }
  sink_->consume_file(static_cast<uint64_t>(n));
  set_deadline(Clock::now() + state_->limits.send_timeout);
  // Continue from the loop rather than recursing: other connections get a turn.
  write_in_flight_ = true;
  post([self = shared_from_this()] {
    self->write_in_flight_ = false;
    if (self->phase_ == Phase::Closed) return;
    self->do_write();
  });
}

// After an inline write (plain or TLS) went out: the next piece of the
// response now, one level deeper (bounded by kMaxInlineWrites). The nested
// call may finish the response and release keep_self_; every caller holds a
// reference today, this keeps it so if one stops doing so.
void HttpConnection::write_next_inline() {
  auto self = shared_from_this();
  ++inline_writes_;
  do_write();
  --inline_writes_;
}

// The socket buffer is full (plain socket, or TLS after an inline SSL_write
// wanted it writable): do_write() again once it is writable, which repeats
// the write with the same bytes. No write is attempted until then;
// send_timeout bounds the wait.
void HttpConnection::wait_writable() {
  write_in_flight_ = true;
  set_deadline(Clock::now() + state_->limits.send_timeout);
  stream_.socket().async_wait(asio::socket_base::wait_write, [self = shared_from_this()](const error_code& ec) {
    self->write_in_flight_ = false;
    if (self->phase_ == Phase::Closed) return;
    if (ec) return self->close_now();
    self->do_write();
  });
}

void HttpConnection::on_write(const error_code& ec, std::size_t n) {
  write_in_flight_ = false;
  if (phase_ == Phase::Closed) return;
  if (ec) {
    HLOG_CTX(Debug, state_->name, "connection " << id_ << ": write failed: " << ec.message());
    return close_now();
  }
  sink_->consume(n);
  do_write();
}

void HttpConnection::on_response_done() {
  auto self = std::move(keep_self_);
  const bool close = sink_->must_close() || !keep_alive_ || error_response_ || state_->draining;
  release_sink();
  ws_pending_.reset();  // answered with a plain response (refused, or an error)
  state_->requests.give(std::move(request_));
  if (close) return begin_linger();
  next_request();
}

void HttpConnection::next_request() {
  reader_.reset();
  // No read targets buffer_ now (a pending read-ahead uses side_ or no buffer).
  if (buffer_.size() == 0) buffer_.shrink_to_fit();
  error_response_ = false;
  phase_ = Phase::Idle;
  set_deadline(Clock::now() + state_->limits.keepalive_timeout);
  process_input();
}

// --- closing ----------------------------------------------------------------

void HttpConnection::begin_linger() {
  // Shut down our side and read until the client closes, so unread request
  // bytes do not turn our last response into a reset.
  phase_ = Phase::Lingering;
  if (stream_.is_tls()) return tls_shutdown();
  error_code ec;
  stream_.socket().shutdown(asio::socket_base::shutdown_send, ec);
  if (ec) return close_now();
  set_deadline(Clock::now() + kLinger);
  ensure_read();
}

void HttpConnection::tls_shutdown() {
  // close_notify first (a write; a pending read-ahead may stay pending), then
  // the same TCP half-close and drain as a plain connection.
  set_deadline(Clock::now() + kLinger);
  write_in_flight_ = true;
  stream_.tls()->async_shutdown([self = shared_from_this()](const error_code& ec) {
    self->write_in_flight_ = false;
    if (self->phase_ == Phase::Closed) return;
    if (ec) return self->close_now();
    error_code ignored;
    self->stream_.socket().shutdown(asio::socket_base::shutdown_send, ignored);
    self->ensure_read();
  });
}

void HttpConnection::drain() {
  switch (phase_) {
    case Phase::Idle:
      if (!received_any_ && buffer_.size() == 0) {
        // Served after all (with Connection: close: state_->draining), or closed
        // silently when the grace runs out; busy() holds the drain meanwhile.
        first_request_grace_ = true;
        set_deadline(std::min(deadline_, Clock::now() + kFirstRequestGrace));
        break;
      }
      close_now();
      break;
    case Phase::Head:
    case Phase::Body:
      keep_alive_ = false;
      break;
    case Phase::Responding:
      keep_alive_ = false;
      if (sink_) sink_->disable_keep_alive();
      break;
    default:
      break;
  }
}

void HttpConnection::abort() { close_now(); }

void HttpConnection::upgrade_to_h2(std::string initial) {
  auto self = std::move(keep_self_);  // released when this function returns
  phase_ = Phase::Closed;
  timer_.cancel();
  state_->connections.erase(this);
  const bool tls = stream_.is_tls();
  auto h2 = std::make_shared<H2Connection>(std::move(stream_), state_, std::move(initial), tls);
  h2->start();
}

void HttpConnection::close_now() {
  if (phase_ == Phase::Closed) return;
  auto self = std::move(keep_self_);  // released when this function returns
  phase_ = Phase::Closed;
  error_code ec;
  stream_.socket().close(ec);
  timer_.cancel();
  if (sink_) {
    sink_->detach();
    sink_.reset();
  }
  state_->connections.erase(this);
  if (ws_pending_) std::exchange(ws_pending_, nullptr)->connection_gone();
}

// --- timer ----------------------------------------------------------------
// One timer per connection. set_deadline() only stores the deadline unless it
// is earlier than the armed expiry; when the timer fires early it re-arms.

void HttpConnection::set_deadline(TimePoint deadline) {
  deadline_ = deadline;
  if (deadline == TimePoint::max() || phase_ == Phase::Closed) return;
  if (!timer_armed_ || deadline < armed_at_) arm_timer(deadline);
}

void HttpConnection::arm_timer(TimePoint at) {
  timer_armed_ = true;
  armed_at_ = at;
  timer_.expires_at(at);
  timer_.async_wait([self = shared_from_this()](const error_code& ec) { self->on_timer(ec); });
}

void HttpConnection::on_timer(const error_code& ec) {
  if (ec == asio::error::operation_aborted) return;
  timer_armed_ = false;
  armed_at_ = TimePoint::max();
  if (phase_ == Phase::Closed || deadline_ == TimePoint::max()) return;
  if (Clock::now() < deadline_) return arm_timer(deadline_);
  on_timeout();
}

void HttpConnection::on_timeout() {
  switch (phase_) {
    case Phase::Idle:
      return close_now();  // keepalive_timeout: close silently
    case Phase::Head:
    case Phase::Body:
      return respond_error(408);
    case Phase::Responding:
      if (write_in_flight_) {
        HLOG_CTX(Debug, state_->name, "connection " << id_ << ": send timeout");
        close_now();
      }
      return;
    case Phase::Lingering:
      return close_now();
    case Phase::Closed:
      return;
  }
}

}  // namespace hearth::net
