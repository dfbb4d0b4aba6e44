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
// read_now()/write_now() are the same attempt made synchronously, for a caller
// that waits for readiness itself (net::HttpConnection between requests waits
// for readability first, then reads: no read that only finds EAGAIN, no 17 KiB
// record buffer taken and given back for it; and writes a response at once
// instead of through a posted completion). has_pending() says whether a read
// can be answered without the socket: then the caller must not wait for it.
//
// Read-ahead is on (as nginx sets it): a record is read with one read(2)
// instead of its 5-byte header and then its body. What it reads beyond a
// record stays in OpenSSL's buffer, which has_pending() reports; the buffer
// is still released once empty (SSL_MODE_RELEASE_BUFFERS).
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
      SSL_set_read_ahead(ssl_, 1);
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

  // What a synchronous attempt did.
  enum class Want {
    Done,   // n bytes moved (n > 0), or the operation failed (ec set)
    Read,   // nothing moved: OpenSSL needs the socket readable first
    Write,  // nothing moved: OpenSSL needs the socket writable first
  };
  struct Result {
    std::size_t n = 0;
    Want want = Want::Done;
    error_code ec;  // eof when the peer closed (close_notify, or TCP FIN)
  };
  // Bytes (decrypted, or read ahead) a read returns without the socket.
  bool has_pending() const { return ssl_ && SSL_has_pending(ssl_) == 1; }
  // One SSL_read / SSL_write now, without waiting. After Want::Read/Write the
  // same call may be made again once the socket is ready (a write with the
  // same bytes), or the async_ operation started instead.
  [[nodiscard]] Result read_now(void* data, std::size_t len) {
    int n = static_cast<int>(std::min<std::size_t>(len, INT_MAX));
    return attempt_once([this, data, n] { return SSL_read(ssl_, data, n); });
  }
  [[nodiscard]] Result write_now(const void* data, std::size_t len) {
    int n = static_cast<int>(std::min<std::size_t>(len, INT_MAX));
    return attempt_once([this, data, n] { return SSL_write(ssl_, data, n); });
  }

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
  // One try of `attempt` (an OpenSSL call returning > 0 on success).
  template <typename Attempt>
  Result attempt_once(Attempt&& attempt) {
    if (!ssl_) return {0, Want::Done, boost::asio::error::bad_descriptor};
    // SSL_get_error reads the thread's error queue, which must hold only this
    // call's errors; clearing an empty queue costs ~300 instructions, looking ~50.
    if (ERR_peek_error() != 0) ERR_clear_error();
    errno = 0;  // SSL_ERROR_SYSCALL is read from errno, which must be this call's
    int r = attempt();
    if (r > 0) return {static_cast<std::size_t>(r), Want::Done, {}};
    int err = SSL_get_error(ssl_, r);
    if (err == SSL_ERROR_WANT_READ) return {0, Want::Read, {}};
    if (err == SSL_ERROR_WANT_WRITE) return {0, Want::Write, {}};
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
    return {0, Want::Done, ec};
  }
  // Tries `attempt` until it succeeds or fails, waiting for the socket as
  // OpenSSL asks in between.
  template <typename Attempt, typename Done>
  void run(Attempt attempt, Done&& done, bool initiating) {
    Result r = attempt_once(attempt);
    if (r.want != Want::Done) {
      auto what = r.want == Want::Read ? Socket::wait_read : Socket::wait_write;
      socket_.async_wait(what, [this, attempt, done = std::forward<Done>(done)](const error_code& ec) mutable {
        if (ec) return done(ec, 0);
        run(attempt, std::move(done), false);
      });
      return;
    }
    complete(std::forward<Done>(done), r.ec, r.n, initiating);
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
