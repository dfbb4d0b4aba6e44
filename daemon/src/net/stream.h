#pragma once
// The byte stream under a connection: a plain socket (TCP or Unix), or TLS
// over it. Both connection classes do their I/O through this, so one
// implementation serves http:// and https:// listeners. The choice is a
// branch per operation with the handler type kept (no type erasure, no extra
// allocation): the plain path costs what a bare socket costs.
//
// Lifetime: a TLS stream holds the SSL context it was created with
// (shared_ptr), so a certificate reload never frees a context in use.
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "net/per_ip_connections.h"
#include "net/tls_socket.h"

namespace hearth::net {

class Stream {
 public:
  using Socket = boost::asio::generic::stream_protocol::socket;
  using executor_type = Socket::executor_type;

  // Plain.
  explicit Stream(Socket socket) : socket_(std::move(socket)) {}
  // TLS over `socket` with `ctx` (server side; the handshake is not started).
  Stream(Socket socket, std::shared_ptr<boost::asio::ssl::context> ctx)
      : socket_(socket.get_executor()),
        ctx_(std::move(ctx)),
        tls_(std::make_unique<TlsSocket>(std::move(socket), ctx_->native_handle())) {}
  Stream(Stream&&) noexcept = default;
  Stream& operator=(Stream&&) noexcept = default;

  bool is_tls() const { return tls_ != nullptr; }
  // The transport socket (endpoints, options, shutdown, close).
  Socket& socket() { return tls_ ? tls_->socket() : socket_; }
  TlsSocket* tls() { return tls_.get(); }
  executor_type get_executor() { return socket_.get_executor(); }

  // The protocol chosen by ALPN ("h2", "http/1.1"), or "" (plain, or none).
  std::string_view alpn() const {
    if (!tls_) return {};
    const unsigned char* p = nullptr;
    unsigned int n = 0;
    SSL_get0_alpn_selected(tls_->native_handle(), &p, &n);
    return p ? std::string_view(reinterpret_cast<const char*>(p), n) : std::string_view();
  }

  // The client a PROXY protocol header named (net/proxy_header_reader.h); it
  // replaces the TCP peer as the requests' peer address. Null: none.
  struct ProxiedClient {
    std::string addr;
    uint16_t port = 0;
  };
  const ProxiedClient* proxied_client() const { return proxied_.get(); }
  void set_proxied_client(std::string addr, uint16_t port) {
    proxied_ = std::make_unique<ProxiedClient>(ProxiedClient{std::move(addr), port});
  }

  // http.max_connections_per_ip: the connection's place in its address's
  // count, given back when the stream is destroyed. Null when off.
  void hold(std::unique_ptr<PerIpConnections::Slot> slot) { slot_ = std::move(slot); }
  // Parking an idle connection (net/idle_parker.h): the slot and the proxied
  // client go with its descriptor, to the stream that takes it back.
  std::unique_ptr<PerIpConnections::Slot> take_slot() { return std::move(slot_); }
  std::unique_ptr<ProxiedClient> take_proxied_client() { return std::move(proxied_); }

  template <typename Buffers, typename Handler>
  void async_read_some(const Buffers& buffers, Handler&& handler) {
    if (tls_) {
      tls_->async_read_some(buffers, std::forward<Handler>(handler));
    } else {
      socket_.async_read_some(buffers, std::forward<Handler>(handler));
    }
  }
  template <typename Buffers, typename Handler>
  void async_write_some(const Buffers& buffers, Handler&& handler) {
    if (tls_) {
      tls_->async_write_some(buffers, std::forward<Handler>(handler));
    } else {
      socket_.async_write_some(buffers, std::forward<Handler>(handler));
    }
  }

 private:
  Socket socket_;  // the transport when plain; unused (closed) when TLS
  std::shared_ptr<boost::asio::ssl::context> ctx_;
  std::unique_ptr<TlsSocket> tls_;
  std::unique_ptr<ProxiedClient> proxied_;
  std::unique_ptr<PerIpConnections::Slot> slot_;
};

}  // namespace hearth::net
