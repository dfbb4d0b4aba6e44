#pragma once
// The PROXY protocol header at the start of one accepted connection on a
// listener with `proxy_protocol = true`, read before TLS and before HTTP.
//
// The peer must be in `proxy_allow_ips` (Unix-socket peers always are: the
// socket file's permissions decide who connects); the header must be valid
// and complete within header_timeout. Otherwise the connection is closed and
// counted in ServerState::proxy_protocol_refused. On success the stream is
// handed to a TlsHandshake (TLS listener) or an HttpConnection, carrying the
// client the header names (Stream::proxied_client()), which then is the
// request's peer address: REMOTE_ADDR, the access log and rate-limit keys.
//
// Only header bytes are taken from the socket (peek, then consume what the
// parser says belongs to the header), so the bytes after it (a TLS
// ClientHello, a request line) stay for the next reader.
//
// Lifetime: shared_ptr held by its pending wait and timer; registered in
// ServerState::proxy_readers until it finishes either way.
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <vector>

#include "net/server_state.h"
#include "net/stream.h"

namespace hearth::net {

class ProxyHeaderReader final : public std::enable_shared_from_this<ProxyHeaderReader> {
 public:
  ProxyHeaderReader(Stream::Socket socket, std::shared_ptr<ServerState> state, bool tls);
  ~ProxyHeaderReader();
  ProxyHeaderReader(const ProxyHeaderReader&) = delete;
  ProxyHeaderReader& operator=(const ProxyHeaderReader&) = delete;

  void start();
  // close_idle()/close_all(): no request yet; close.
  void abort();

 private:
  // Where the reader is.
  enum class Phase {
    Reading,  // waiting for header bytes, timer armed
    Done,     // handed over, or closed
  };

  void do_wait();
  void on_readable(const boost::system::error_code& ec);
  void refuse(const std::string& why);
  void close();

  Stream::Socket socket_;
  std::shared_ptr<ServerState> state_;
  bool tls_;
  boost::asio::steady_timer timer_;
  Phase phase_ = Phase::Reading;
  std::vector<uint8_t> buf_;    // header bytes: consumed_ taken from the socket, then peeked ones
  std::size_t consumed_ = 0;
};

}  // namespace hearth::net
