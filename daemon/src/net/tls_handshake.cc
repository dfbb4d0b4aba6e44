#include "net/tls_handshake.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <string>

#include "common/log.h"
#include "net/h2_connection.h"
#include "net/http_connection.h"

namespace hearth::net {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

const std::string& plain_http_reply() {
  static const std::string reply = [] {
    std::string body = "400 Bad Request: this port speaks HTTPS; use an https:// URL\n";
    return "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\nConnection: close\r\n\r\n" + body;
  }();
  return reply;
}

}  // namespace

TlsHandshake::TlsHandshake(Stream stream, std::shared_ptr<ServerState> state)
    : stream_(std::move(stream)), state_(std::move(state)), timer_(stream_.get_executor()) {}

TlsHandshake::~TlsHandshake() { state_->handshakes.erase(this); }

void TlsHandshake::start() {
  state_->handshakes.insert(this);
  timer_.expires_after(state_->limits.header_timeout);
  timer_.async_wait([weak = weak_from_this()](const error_code& ec) {
    auto self = weak.lock();
    if (ec || !self) return;
    if (self->phase_ == Phase::Refusing) return self->close();
    if (self->phase_ != Phase::Handshaking) return;
    self->fail("handshake timed out (header_timeout)");
  });
  if (!stream_.tls()->ok()) {
    HLOG_CTX(Warn, state_->name, "TLS: OpenSSL could not set up a connection");
    return fail(nullptr);
  }
  stream_.tls()->async_handshake([self = shared_from_this()](const error_code& ec) { self->on_handshake(ec); });
}

void TlsHandshake::on_handshake(const error_code& ec) {
  if (phase_ != Phase::Handshaking) return;  // timed out or aborted: already closed
  if (ec) {
    HLOG_CTX(Debug, state_->name, "TLS handshake failed: " << ec.message());
    if (ec.category() == asio::error::get_ssl_category() &&
        ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_HTTP_REQUEST) {
      return refuse_plain_http();
    }
    return fail(nullptr);
  }
  phase_ = Phase::Done;
  timer_.cancel();
  state_->handshakes.erase(this);
  if (state_->draining) {
    // Shutting down: the listener is closed; do not start serving a new client.
    error_code ignored;
    stream_.socket().close(ignored);
    return;
  }
  if (stream_.alpn() == "h2" && state_->limits.h2_enabled) {
    auto h2 = std::make_shared<H2Connection>(std::move(stream_), state_, std::string(), /*tls=*/true);
    h2->start();
  } else {
    auto conn = std::make_shared<HttpConnection>(std::move(stream_), state_);
    conn->start();
  }
}

void TlsHandshake::refuse_plain_http() {
  ++state_->tls_handshake_failures;
  phase_ = Phase::Refusing;  // still bounded by the header_timeout timer
  asio::async_write(stream_.socket(), asio::buffer(plain_http_reply()),
                    [self = shared_from_this()](const error_code& ec, std::size_t) {
                      if (self->phase_ != Phase::Refusing) return;
                      if (ec) return self->close();
                      error_code ignored;
                      self->stream_.socket().shutdown(asio::socket_base::shutdown_send, ignored);
                      self->drain_plain();
                    });
}

void TlsHandshake::drain_plain() {
  // Read until the client closes, so the unread rest of its request does not
  // turn our answer into a reset.
  stream_.socket().async_read_some(asio::buffer(discard_), [self = shared_from_this()](const error_code& ec,
                                                                                       std::size_t) {
    if (self->phase_ != Phase::Refusing) return;
    if (ec) return self->close();
    self->drain_plain();
  });
}

void TlsHandshake::fail(const char* why) {
  if (phase_ != Phase::Handshaking) return;
  ++state_->tls_handshake_failures;
  if (why) HLOG_CTX(Debug, state_->name, "TLS " << why);
  close();
}

void TlsHandshake::close() {
  if (phase_ == Phase::Done) return;
  phase_ = Phase::Done;
  timer_.cancel();
  error_code ignored;
  // Closing the socket completes a pending handshake/read/write with operation_aborted.
  stream_.socket().close(ignored);
  state_->handshakes.erase(this);
}

void TlsHandshake::abort() { close(); }

}  // namespace hearth::net
