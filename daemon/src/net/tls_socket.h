#pragma once
// TLS over a non-blocking socket, driven directly with OpenSSL (SSL_set_fd)
// and Asio readiness waits. Used instead of asio::ssl::stream because that one
// keeps four 17 KiB buffers per connection (its BIO pair and staging
// buffers) for as long as the connection lives: ~72 KiB per idle HTTPS
// connection against ~8 KiB here, where OpenSSL's own record buffers are
// released while idle (SSL_MODE_RELEASE_BUFFERS) and records go straight
// between the kernel and OpenSSL, without the extra copies.
//
// Every operation first tries the OpenSSL call; when OpenSSL wants the socket
// readable or writable it waits for that and tries again. A completion that
// is ready at once is posted, never run inside the initiating call (Asio's
// rule). At most one read-side and one write-side operation at a time, as
// with any Asio stream; the handshake and the shutdown are both.
//
// Lifetime: owned (unique_ptr) by a net::Stream; pending operations refer to
// it, and the connection that owns the stream is kept alive by their handlers.
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <cerrno>
#include <climits>
#include <utility>

namespace hearth::net {

class TlsSocket {
 public:
  using Socket = boost::asio::generic::stream_protocol::socket;
  using error_code = boost::system::error_code;

  // Server side of a TLS connection on `socket`; nullptr-safe only in the
  // sense that ok() says whether OpenSSL could create the connection.
  TlsSocket(Socket socket, SSL_CTX* ctx) : socket_(std::move(socket)), ssl_(SSL_new(ctx)) {
    error_code ec;
    socket_.non_blocking(true, ec);
    if (ssl_ && SSL_set_fd(ssl_, static_cast<int>(socket_.native_handle())) == 1) {
      SSL_set_accept_state(ssl_);
      SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                             SSL_MODE_RELEASE_BUFFERS);
    } else if (ssl_) {
      SSL_free(ssl_);
      ssl_ = nullptr;
    }
  }
  ~TlsSocket() {
    if (ssl_) SSL_free(ssl_);
  }
  TlsSocket(const TlsSocket&) = delete;
  TlsSocket& operator=(const TlsSocket&) = delete;

  bool ok() const { return ssl_ != nullptr; }
  Socket& socket() { return socket_; }
  SSL* native_handle() const { return ssl_; }

  // handler(error_code)
  template <typename Handler>
  void async_handshake(Handler&& handler) {
    run([this] { return SSL_do_handshake(ssl_); },
        [h = std::forward<Handler>(handler)](const error_code& ec, std::size_t) mutable { h(ec); }, true);
  }

  // handler(error_code, bytes); reads into the first buffer of the sequence.
  template <typename Buffers, typename Handler>
  void async_read_some(const Buffers& buffers, Handler&& handler) {
    boost::asio::mutable_buffer b = *boost::asio::buffer_sequence_begin(buffers);
    void* data = b.data();
    int len = static_cast<int>(std::min<std::size_t>(b.size(), INT_MAX));
    run([this, data, len] { return SSL_read(ssl_, data, len); }, std::forward<Handler>(handler), true);
  }

  // handler(error_code, bytes); writes (part of) the first buffer of the sequence.
  template <typename Buffers, typename Handler>
  void async_write_some(const Buffers& buffers, Handler&& handler) {
    boost::asio::const_buffer b = *boost::asio::buffer_sequence_begin(buffers);
    const void* data = b.data();
    int len = static_cast<int>(std::min<std::size_t>(b.size(), INT_MAX));
    run([this, data, len] { return SSL_write(ssl_, data, len); }, std::forward<Handler>(handler), true);
  }

  // Sends close_notify (does not wait for the peer's). handler(error_code)
  template <typename Handler>
  void async_shutdown(Handler&& handler) {
    run(
        [this] {
          int r = SSL_shutdown(ssl_);
          return r >= 0 ? 1 : r;  // 0 = ours sent, theirs not yet received: done for us
        },
        [h = std::forward<Handler>(handler)](const error_code& ec, std::size_t) mutable { h(ec); }, true);
  }

 private:
  // Tries `attempt` (an OpenSSL call returning > 0 on success) until it
  // succeeds or fails, waiting for the socket as OpenSSL asks in between.
  template <typename Attempt, typename Done>
  void run(Attempt attempt, Done&& done, bool initiating) {
    if (!ssl_) return complete(std::forward<Done>(done), boost::asio::error::bad_descriptor, 0, initiating);
    ERR_clear_error();
    errno = 0;  // SSL_ERROR_SYSCALL is read from errno, which must be this call's
    int r = attempt();
    if (r > 0) return complete(std::forward<Done>(done), error_code(), static_cast<std::size_t>(r), initiating);
    int err = SSL_get_error(ssl_, r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      auto what = err == SSL_ERROR_WANT_READ ? Socket::wait_read : Socket::wait_write;
      socket_.async_wait(what, [this, attempt, done = std::forward<Done>(done)](const error_code& ec) mutable {
        if (ec) return done(ec, 0);
        run(attempt, std::move(done), false);
      });
      return;
    }
    error_code ec;
    if (err == SSL_ERROR_ZERO_RETURN) {
      ec = boost::asio::error::eof;  // the peer sent close_notify
    } else if (err == SSL_ERROR_SYSCALL) {
      ec = errno ? error_code(errno, boost::system::system_category()) : error_code(boost::asio::error::eof);
    } else {
      unsigned long e = ERR_peek_last_error();
      ec = e ? error_code(static_cast<int>(e), boost::asio::error::get_ssl_category())
             : error_code(boost::asio::ssl::error::stream_truncated);
    }
    ERR_clear_error();
    complete(std::forward<Done>(done), ec, 0, initiating);
  }

  template <typename Done>
  void complete(Done&& done, const error_code& ec, std::size_t n, bool initiating) {
    if (!initiating) return done(ec, n);
    boost::asio::post(socket_.get_executor(),
                      [done = std::forward<Done>(done), ec, n]() mutable { done(ec, n); });
  }

  Socket socket_;
  SSL* ssl_;
};

}  // namespace hearth::net
