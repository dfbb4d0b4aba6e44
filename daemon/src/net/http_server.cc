#include "net/http_server.h"

#include "net/websocket_session.h"

#include <stdexcept>
#include <vector>

#include "common/log.h"
#include "net/h2_connection.h"
#include "net/http_connection.h"
#include "net/idle_parker.h"
#include "net/ip_allow_list.h"
#include "net/listener.h"
#include "net/proxy_header_reader.h"
#include "net/server_state.h"
#include "net/stream.h"
#include "net/tls_handshake.h"

namespace hearth::net {

struct HttpServer::Impl {
  std::shared_ptr<ServerState> state;
  std::vector<std::unique_ptr<Listener>> listeners;
  bool started = false;

  // Connections are closed from a snapshot: closing erases from the set.
  template <typename Fn>
  void for_each_connection(Fn fn) {
    std::vector<std::shared_ptr<HttpConnection>> snapshot;
    snapshot.reserve(state->connections.size());
    for (HttpConnection* c : state->connections) snapshot.push_back(c->shared_from_this());
    for (auto& c : snapshot) fn(*c);
  }

  void accept(Listener::Socket socket, bool tls) {
    if (state->proxy_allow) {
      std::make_shared<ProxyHeaderReader>(std::move(socket), state, tls)->start();
      return;
    }
    std::unique_ptr<PerIpConnections::Slot> slot;
    if (state->per_ip && !(slot = take_per_ip_slot(socket))) return;
    if (tls) {
      Stream stream(std::move(socket), state->tls_context);
      if (slot) stream.hold(std::move(slot));
      auto hs = std::make_shared<TlsHandshake>(std::move(stream), state);
      hs->start();
      return;
    }
    Stream stream(std::move(socket));
    if (slot) stream.hold(std::move(slot));
    auto conn = HttpConnection::create(std::move(stream), state);
    conn->start();
  }

  // max_connections_per_ip: a slot for the peer's address; null (and the
  // socket closed) when it holds its share already. A Unix-socket peer gets an
  // uncounted slot.
  std::unique_ptr<PerIpConnections::Slot> take_per_ip_slot(Listener::Socket& socket) {
    boost::system::error_code ec;
    auto peer = socket.remote_endpoint(ec);
    std::string addr = ec ? std::string() : ip_text(peer.data());
    if (addr.empty()) return std::make_unique<PerIpConnections::Slot>(nullptr, std::string());
    auto slot = state->per_ip->acquire(addr);
    if (!slot) {
      HLOG_CTX(Debug, state->name, "connection from " << addr << " closed: max_connections_per_ip reached");
      socket.close(ec);
    }
    return slot;
  }

  void start_listener(Listener& l) {
    l.start([this, tls = l.is_tls()](Listener::Socket s) { accept(std::move(s), tls); });
  }
};

HttpServer::HttpServer(boost::asio::io_context& io, config::HttpLimits limits, std::string temp_dir,
                       http::RequestHandler& handler, std::string name)
    : impl_(std::make_unique<Impl>()) {
  impl_->state = std::make_shared<ServerState>(io, std::move(limits), std::move(temp_dir), &handler,
                                               std::move(name));
  impl_->state->parker = std::make_shared<IdleParker>(io, impl_->state);
}

HttpServer::~HttpServer() {
  stop_accepting();
  close_all();
  impl_->state->handler = nullptr;
}

void HttpServer::listen(const config::Bind& bind, bool tls) {
  if (tls && !impl_->state->tls_context) {
    throw std::runtime_error("listen " + bind.text + ": HTTPS without a TLS context");
  }
  auto listener = std::make_unique<Listener>(impl_->state->io, bind, tls, static_cast<int>(impl_->state->limits.backlog));
  HLOG_CTX(Info, impl_->state->name, "listening on " << listener->url());
  Listener* raw = listener.get();
  impl_->listeners.push_back(std::move(listener));
  if (impl_->started) impl_->start_listener(*raw);
}

void HttpServer::adopt(int fd, bool tls) {
  if (tls && !impl_->state->tls_context) {
    throw std::runtime_error("adopt fd " + std::to_string(fd) + ": HTTPS without a TLS context");
  }
  auto listener = std::make_unique<Listener>(impl_->state->io, fd, tls, static_cast<int>(impl_->state->limits.backlog));
  HLOG_CTX(Info, impl_->state->name, "listening on " << listener->url() << " (inherited fd " << fd << ")");
  Listener* raw = listener.get();
  impl_->listeners.push_back(std::move(listener));
  if (impl_->started) impl_->start_listener(*raw);
}

std::vector<int> HttpServer::listener_fds() const {
  std::vector<int> fds;
  for (const auto& l : impl_->listeners) {
    if (int fd = l->native_handle(); fd >= 0) fds.push_back(fd);
  }
  return fds;
}

void HttpServer::set_tls_context(std::shared_ptr<boost::asio::ssl::context> ctx) {
  impl_->state->tls_context = std::move(ctx);
}

uint16_t HttpServer::first_tls_port() const {
  for (const auto& l : impl_->listeners) {
    if (l->is_tls() && !l->is_unix()) return l->port();
  }
  return 0;
}

void HttpServer::set_proxy_protocol(const std::vector<std::string>& allow) {
  std::string error;
  auto list = IpAllowList::parse(allow, &error);
  if (!list) throw std::runtime_error("proxy_allow_ips: " + error);
  impl_->state->proxy_allow = std::make_shared<const IpAllowList>(std::move(*list));
}

void HttpServer::set_error_pages(std::shared_ptr<const http::ErrorPages> pages) {
  impl_->state->error_pages = std::move(pages);
}

uint64_t HttpServer::per_ip_refused() const {
  return impl_->state->per_ip ? impl_->state->per_ip->refused() : 0;
}

uint64_t HttpServer::proxy_protocol_refused() const { return impl_->state->proxy_protocol_refused; }

uint64_t HttpServer::tls_handshake_failures() const { return impl_->state->tls_handshake_failures; }

std::vector<std::string> HttpServer::bound_urls() const {
  std::vector<std::string> urls;
  for (const auto& l : impl_->listeners) urls.push_back(l->url());
  return urls;
}

void HttpServer::start() {
  if (impl_->started) return;
  impl_->started = true;
  for (auto& l : impl_->listeners) impl_->start_listener(*l);
}

void HttpServer::stop_accepting() {
  for (auto& l : impl_->listeners) l->close();
}

namespace {

// Handshakes are aborted from a copy: abort() removes them from the set.
void abort_handshakes(ServerState& state) {
  std::vector<std::shared_ptr<TlsHandshake>> all;
  for (TlsHandshake* h : state.handshakes) all.push_back(h->shared_from_this());
  for (auto& h : all) h->abort();
  std::vector<std::shared_ptr<ProxyHeaderReader>> readers;
  for (ProxyHeaderReader* r : state.proxy_readers) readers.push_back(r->shared_from_this());
  for (auto& r : readers) r->abort();
}

// Open WebSockets, from a copy: going_away()/abort() may remove them from the set.
template <typename F>
void for_each_websocket(ServerState& state, F f) {
  std::vector<std::shared_ptr<WebSocketSession>> all;
  for (WebSocketSession* w : state.websockets) all.push_back(w->shared_from_this());
  for (auto& w : all) f(*w);
}

}  // namespace

template <typename F>
void HttpServer::for_each_h2(F f) {
  // Copy first: drain()/abort() may remove connections from the set.
  std::vector<std::shared_ptr<H2Connection>> all;
  for (H2Connection* c : impl_->state->h2_connections) all.push_back(c->shared_from_this());
  for (auto& c : all) f(*c);
}

void HttpServer::close_idle() {
  impl_->state->draining = true;
  impl_->state->parker->close_all();  // parked connections are idle: closed, as drain() closes idle ones
  impl_->for_each_connection([](HttpConnection& c) { c.drain(); });
  for_each_h2([](H2Connection& c) { c.drain(); });
  for_each_websocket(*impl_->state, [](WebSocketSession& w) { w.going_away(); });
  abort_handshakes(*impl_->state);
}

void HttpServer::close_all() {
  impl_->state->parker->close_all();
  impl_->for_each_connection([](HttpConnection& c) { c.abort(); });
  for_each_h2([](H2Connection& c) { c.abort(); });
  for_each_websocket(*impl_->state, [](WebSocketSession& w) { w.abort(); });
  abort_handshakes(*impl_->state);
}

std::size_t HttpServer::open_connections() const {
  return impl_->state->connections.size() + impl_->state->parker->size() + impl_->state->h2_connections.size() +
         impl_->state->handshakes.size() + impl_->state->proxy_readers.size() + impl_->state->websockets.size();
}

std::size_t HttpServer::parked_connections() const { return impl_->state->parker->size(); }

std::size_t HttpServer::busy_connections() const {
  std::size_t n = 0;
  for (HttpConnection* c : impl_->state->connections) n += c->busy() ? 1 : 0;
  for (H2Connection* c : impl_->state->h2_connections) n += c->busy() ? 1 : 0;
  return n + impl_->state->websockets.size();  // an open WebSocket is busy until it closes
}

HttpServer::WebSocketStats HttpServer::websocket_stats() const {
  const ServerState& s = *impl_->state;
  return WebSocketStats{s.websockets.size(), s.websocket_messages_in, s.websocket_messages_out};
}

}  // namespace hearth::net
