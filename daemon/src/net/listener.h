#pragma once
// One listening socket (TCP or Unix stream) and its accept loop. Accepted
// sockets are handed out as generic stream sockets so one connection class
// serves both kinds.
#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <string>

#include "config/config.h"

namespace hearth::net {

class Listener {
 public:
  using Socket = boost::asio::generic::stream_protocol::socket;
  using AcceptFn = std::function<void(Socket)>;

  // Binds and listens; throws std::runtime_error with a clear message.
  // `tls` only changes the URL's scheme (https://); the server does the TLS.
  Listener(boost::asio::io_context& io, const config::Bind& bind, bool tls = false, int backlog = 1024);
  // Adopts a socket that is already bound (socket activation, a binary
  // upgrade's hand-over); listens on it if it is not yet. Throws like the above.
  Listener(boost::asio::io_context& io, int fd, bool tls = false, int backlog = 1024);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // "http://127.0.0.1:34567", "https://[::1]:443" or "unix:/path".
  const std::string& url() const { return url_; }
  bool is_unix() const { return unix_; }
  bool is_tls() const { return tls_; }
  uint16_t port() const { return port_; }  // the bound TCP port; 0 for Unix
  void start(AcceptFn on_accept);
  void close();
  // The listening socket (handed to a new hearthd by `hearthctl upgrade`); -1 once closed.
  int native_handle() { return closed_ ? -1 : acceptor_.native_handle(); }

 private:
  void describe(const config::Bind& bind);
  void do_accept();
  void on_accept(const boost::system::error_code& ec, Socket socket);

  boost::asio::basic_socket_acceptor<boost::asio::generic::stream_protocol> acceptor_;
  boost::asio::steady_timer retry_timer_;
  AcceptFn on_accept_;
  std::string url_;
  std::string unix_path_;
  bool unix_ = false;
  bool tls_ = false;
  uint16_t port_ = 0;
  bool closed_ = false;
  // Outstanding async operations hold this, so a closed listener's handlers
  // can tell the listener is gone.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace hearth::net
