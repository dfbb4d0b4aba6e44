#include "net/http_server.h"

#include <vector>

#include "common/log.h"
#include "net/h2_connection.h"
#include "net/http_connection.h"
#include "net/listener.h"
#include "net/server_state.h"

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

  void accept(Listener::Socket socket) {
    auto conn = std::make_shared<HttpConnection>(std::move(socket), state);
    conn->start();
  }
};

HttpServer::HttpServer(boost::asio::io_context& io, config::HttpLimits limits, std::string temp_dir,
                       http::RequestHandler& handler, std::string name)
    : impl_(std::make_unique<Impl>()) {
  impl_->state = std::make_shared<ServerState>(io, std::move(limits), std::move(temp_dir), &handler,
                                               std::move(name));
}

HttpServer::~HttpServer() {
  stop_accepting();
  close_all();
  impl_->state->handler = nullptr;
}

void HttpServer::listen(const config::Bind& bind) {
  auto listener = std::make_unique<Listener>(impl_->state->io, bind);
  HLOG_CTX(Info, impl_->state->name, "listening on " << listener->url());
  Listener* raw = listener.get();
  impl_->listeners.push_back(std::move(listener));
  if (impl_->started) {
    raw->start([impl = impl_.get()](Listener::Socket s) { impl->accept(std::move(s)); });
  }
}

void HttpServer::adopt(int fd) {
  auto listener = std::make_unique<Listener>(impl_->state->io, fd);
  HLOG_CTX(Info, impl_->state->name, "listening on " << listener->url() << " (inherited fd " << fd << ")");
  Listener* raw = listener.get();
  impl_->listeners.push_back(std::move(listener));
  if (impl_->started) {
    raw->start([impl = impl_.get()](Listener::Socket s) { impl->accept(std::move(s)); });
  }
}

std::vector<int> HttpServer::listener_fds() const {
  std::vector<int> fds;
  for (const auto& l : impl_->listeners) {
    if (int fd = l->native_handle(); fd >= 0) fds.push_back(fd);
  }
  return fds;
}

std::vector<std::string> HttpServer::bound_urls() const {
  std::vector<std::string> urls;
  for (const auto& l : impl_->listeners) urls.push_back(l->url());
  return urls;
}

void HttpServer::start() {
  if (impl_->started) return;
  impl_->started = true;
  for (auto& l : impl_->listeners) {
    l->start([impl = impl_.get()](Listener::Socket s) { impl->accept(std::move(s)); });
  }
}

void HttpServer::stop_accepting() {
  for (auto& l : impl_->listeners) l->close();
}

template <typename F>
void HttpServer::for_each_h2(F f) {
  // Copy first: drain()/abort() may remove connections from the set.
  std::vector<std::shared_ptr<H2Connection>> all;
  for (H2Connection* c : impl_->state->h2_connections) all.push_back(c->shared_from_this());
  for (auto& c : all) f(*c);
}

void HttpServer::close_idle() {
  impl_->state->draining = true;
  impl_->for_each_connection([](HttpConnection& c) { c.drain(); });
  for_each_h2([](H2Connection& c) { c.drain(); });
}

void HttpServer::close_all() {
  impl_->for_each_connection([](HttpConnection& c) { c.abort(); });
  for_each_h2([](H2Connection& c) { c.abort(); });
}

std::size_t HttpServer::open_connections() const {
  return impl_->state->connections.size() + impl_->state->h2_connections.size();
}

std::size_t HttpServer::busy_connections() const {
  std::size_t n = 0;
  for (HttpConnection* c : impl_->state->connections) n += c->busy() ? 1 : 0;
  for (H2Connection* c : impl_->state->h2_connections) n += c->busy() ? 1 : 0;
  return n;
}

}  // namespace hearth::net
