#pragma once
// The TLS handshake of one accepted connection on an HTTPS listener, bounded
// by header_timeout so a client that connects and says nothing (or speaks
// something that is not TLS) cannot hold the connection. On success the
// stream is handed to an H2Connection (ALPN "h2") or an HttpConnection
// (anything else); on failure the connection is closed, counted in
// ServerState::tls_handshake_failures and logged at debug.
//
// Lifetime: shared_ptr held by its pending handshake and timer; registered in
// ServerState::handshakes until it finishes either way.
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "net/server_state.h"
#include "net/stream.h"

namespace hearth::net {

class TlsHandshake final : public std::enable_shared_from_this<TlsHandshake> {
 public:
  TlsHandshake(Stream stream, std::shared_ptr<ServerState> state);
  ~TlsHandshake();
  TlsHandshake(const TlsHandshake&) = delete;
  TlsHandshake& operator=(const TlsHandshake&) = delete;

  void start();
  // close_idle()/close_all(): a connection still in its handshake has no request; close it.
  void abort();

 private:
  // Where the handshake is.
  enum class Phase {
    Handshaking,  // async_handshake pending, timer armed
    Done,         // handed over to a connection, or closed
  };

  void on_handshake(const boost::system::error_code& ec);
  void fail(const char* why);

  Stream stream_;
  std::shared_ptr<ServerState> state_;
  boost::asio::steady_timer timer_;
  Phase phase_ = Phase::Handshaking;
};

}  // namespace hearth::net
