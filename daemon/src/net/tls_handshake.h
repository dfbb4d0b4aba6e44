#pragma once
// The TLS handshake of one accepted connection on an HTTPS listener, bounded
// by header_timeout so a client that connects and says nothing (or speaks
// something that is not TLS) cannot hold the connection. On success the
// stream is handed to an H2Connection (ALPN "h2") or an HttpConnection
// (anything else); on failure the connection is closed, counted in
// ServerState::tls_handshake_failures and logged at debug. A client that
// sent plain HTTP gets a plain-text 400 saying to use https:// first (as
// nginx does), so a wrong URL is easy to diagnose.
//
// Lifetime: shared_ptr held by its pending handshake and timer; registered in
// ServerState::handshakes until it finishes either way.
#include <boost/asio/steady_timer.hpp>
#include <array>
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
    Refusing,     // the client spoke plain HTTP: writing a 400, then draining (timer still armed)
    Done,         // handed over to a connection, or closed
  };

  void on_handshake(const boost::system::error_code& ec);
  void refuse_plain_http();
  void drain_plain();
  void fail(const char* why);
  void close();

  Stream stream_;
  std::shared_ptr<ServerState> state_;
  boost::asio::steady_timer timer_;
  Phase phase_ = Phase::Handshaking;
  std::array<char, 512> discard_{};  // Refusing: what the client still sends
};

}  // namespace hearth::net
