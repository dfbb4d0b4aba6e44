#include "upstream/backend.h"

#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>

namespace hearth::upstream {

namespace asio = boost::asio;

std::optional<Server> make_server(const std::string& text, std::string* error) {
  auto a = config::parse_server_address(text);
  if (!a) {
    *error = "'" + text + "' is not HOST:PORT or unix:/path";
    return std::nullopt;
  }
  Server s;
  s.label = text;
  if (a->kind == config::ServerAddress::Kind::Unix) {
    s.endpoint = Endpoint(asio::local::stream_protocol::endpoint(a->path));
    s.host = "localhost";
    return s;
  }
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(a->host, ec);
  if (ec) {
    asio::io_context io;
    asio::ip::tcp::resolver r(io);
    auto results = r.resolve(a->host, std::to_string(a->port), ec);
    if (ec || results.empty()) {
      *error = "cannot resolve '" + a->host + "': " + (ec ? ec.message() : std::string("no address"));
      return std::nullopt;
    }
    s.endpoint = Endpoint(results.begin()->endpoint());
  } else {
    s.endpoint = Endpoint(asio::ip::tcp::endpoint(addr, a->port));
  }
  s.host = a->host.find(':') != std::string::npos ? "[" + a->host + "]:" + std::to_string(a->port)
                                                  : a->host + ":" + std::to_string(a->port);
  return s;
}

Backend::Backend(std::vector<Server> servers, ServerSet::Params params, std::size_t max_idle)
    : servers_(std::move(servers)), set_(servers_.size(), params), max_idle_(max_idle), idle_(servers_.size()) {}

std::optional<Socket> Backend::take_idle(std::size_t i) {
  auto& v = idle_[i];
  while (!v.empty()) {
    Socket s = std::move(v.back());
    v.pop_back();
    // A kept connection the server closed meanwhile reads EOF (or an error)
    // at once; one still open has nothing to read (EAGAIN).
    char c;
    ssize_t n = ::recv(s.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return s;
    boost::system::error_code ec;
    s.close(ec);
  }
  return std::nullopt;
}

void Backend::put_idle(std::size_t i, Socket s) {
  auto& v = idle_[i];
  if (v.size() >= max_idle_) {
    boost::system::error_code ec;
    v.front().close(ec);
    v.erase(v.begin());
  }
  v.push_back(std::move(s));
}

void Backend::close_idle() {
  for (auto& v : idle_) {
    for (auto& s : v) {
      boost::system::error_code ec;
      s.close(ec);
    }
    v.clear();
  }
}

void Backend::close_tunnels() {
  std::vector<TunnelToBackend*> all(tunnels_.begin(), tunnels_.end());
  for (TunnelToBackend* t : all) {
    if (tunnels_.count(t)) t->go_away();
  }
}

}  // namespace hearth::upstream
