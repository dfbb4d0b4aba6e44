#include "net/tls_handshake.h"

#include "common/log.h"
#include "net/h2_connection.h"
#include "net/http_connection.h"

namespace hearth::net {

using boost::system::error_code;

TlsHandshake::TlsHandshake(Stream stream, std::shared_ptr<ServerState> state)
    : stream_(std::move(stream)), state_(std::move(state)), timer_(stream_.get_executor()) {}

TlsHandshake::~TlsHandshake() { state_->handshakes.erase(this); }

void TlsHandshake::start() {
  state_->handshakes.insert(this);
  timer_.expires_after(state_->limits.header_timeout);
  timer_.async_wait([weak = weak_from_this()](const error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || self->phase_ != Phase::Handshaking) return;
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

void TlsHandshake::fail(const char* why) {
  if (phase_ != Phase::Handshaking) return;
  phase_ = Phase::Done;
  ++state_->tls_handshake_failures;
  if (why) HLOG_CTX(Debug, state_->name, "TLS " << why);
  timer_.cancel();
  error_code ignored;
  // Closing the socket completes the pending handshake with operation_aborted.
  stream_.socket().close(ignored);
  state_->handshakes.erase(this);
}

void TlsHandshake::abort() {
  if (phase_ != Phase::Handshaking) return;
  phase_ = Phase::Done;
  timer_.cancel();
  error_code ignored;
  stream_.socket().close(ignored);
  state_->handshakes.erase(this);
}

}  // namespace hearth::net
