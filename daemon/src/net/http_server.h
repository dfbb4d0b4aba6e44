#pragma once
// Listeners plus the HTTP/1.1 connections they accept. Owns sockets, timers and
// framing; hands complete requests to a RequestHandler. Single executor.
#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "http/handler.h"

namespace boost::asio::ssl {
class context;
}

namespace hearth::net {

class HttpServer {
 public:
  // `name` tags log lines ("http", "admin").
  HttpServer(boost::asio::io_context& io, config::HttpLimits limits, std::string temp_dir,
             http::RequestHandler& handler, std::string name);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens (start-up regime: throws std::runtime_error with a clear
  // message such as "bind 127.0.0.1:8000: Address already in use").
  // `tls`: serve HTTPS here (set_tls_context() first; else runtime_error).
  void listen(const config::Bind& bind, bool tls = false);
  // Serves a socket that is already bound (socket activation, binary upgrade).
  // Throws std::runtime_error when fd is not a stream socket.
  void adopt(int fd, bool tls = false);
  // The open listening sockets, for handing them to a new hearthd.
  std::vector<int> listener_fds() const;
  // The SSL context for connections accepted from now on by the HTTPS
  // listeners. Connections already open keep the context they started with.
  void set_tls_context(std::shared_ptr<boost::asio::ssl::context> ctx);
  // PROXY protocol on every listener: each connection must start with a v1 or
  // v2 header from a peer `allow` lists (net/proxy_header_reader.h). Call before start().
  void set_proxy_protocol(const std::vector<std::string>& allow);
  // [[error_page]] bodies for the responses this server makes itself (and
  // for simple() answers of its handlers); null = none. Takes effect for
  // responses that start from now on.
  void set_error_pages(std::shared_ptr<const http::ErrorPages> pages);
  // Connections closed because their address held http.max_connections_per_ip already.
  uint64_t per_ip_refused() const;
  // Connections closed for a missing/bad PROXY header or a peer not allowed to send one.
  uint64_t proxy_protocol_refused() const;
  // "http://127.0.0.1:34567", "https://127.0.0.1:8443" or "unix:/path" for every listener, after listen().
  std::vector<std::string> bound_urls() const;
  // The port of the first HTTPS TCP listener, 0 if there is none.
  uint16_t first_tls_port() const;
  // TLS handshakes that failed or timed out since start.
  uint64_t tls_handshake_failures() const;
  // Begin accepting on every listener.
  void start();
  // Graceful shutdown, step 1: close the listeners.
  void stop_accepting();
  // Step 2: close connections that are idle between requests; connections with
  // a request in progress close after their response (keep-alive turned off).
  void close_idle();
  // Abort everything now (after graceful_timeout).
  void close_all();
  std::size_t open_connections() const;  // parked idle ones included
  // Idle plain keep-alive connections parked now (net/idle_parker.h).
  std::size_t parked_connections() const;
  std::size_t busy_connections() const;  // a request is being handled or written, or a WebSocket is open
  struct WebSocketStats {
    std::size_t open = 0;           // upgraded connections open now (accepted by the app, not yet closed)
    uint64_t messages_in = 0;       // whole messages from clients, since start
    uint64_t messages_out = 0;      // whole messages to clients, since start
  };
  WebSocketStats websocket_stats() const;

 private:
  template <typename F>
  void for_each_h2(F f);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hearth::net
