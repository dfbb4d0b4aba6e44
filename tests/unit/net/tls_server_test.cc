// HttpServer with an HTTPS listener, driven in-process: a TLS client on the
// same io_context, silent and non-TLS clients (bounded by header_timeout,
// counted), close_all() during handshakes, and a context swap that leaves an
// open connection alone.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <cstdio>
#include <filesystem>

#include "server_fixture.h"
#include "tls/server_context.h"

namespace hearth::net::testing {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using std::chrono::milliseconds;

// A fresh self-signed P-256 certificate and key in `dir`; returns the TLS config for them.
config::TlsConfig make_cert(const std::string& dir, const std::string& name, long serial) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, key);
  X509_NAME* n = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(x, n);
  X509_sign(x, key, EVP_sha256());
  config::TlsConfig c;
  c.certfile = dir + "/" + name + ".pem";
  c.keyfile = dir + "/" + name + ".key";
  std::FILE* f = std::fopen(c.certfile.c_str(), "w");
  PEM_write_X509(f, x);
  std::fclose(f);
  f = std::fopen(c.keyfile.c_str(), "w");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(x);
  EVP_PKEY_free(key);
  return c;
}

// A TLS client on the test's io_context; every step pumps it with a deadline.
class TlsClient {
 public:
  TlsClient(asio::io_context& io, uint16_t port) : ctx_(ssl::context::tls_client), stream_(io, ctx_) {
    ctx_.set_verify_mode(ssl::verify_none);  // the server's certificate is checked by serial below
    static const unsigned char kAlpn[] = "\x08http/1.1";
    SSL_set_alpn_protos(stream_.native_handle(), kAlpn, sizeof kAlpn - 1);
    boost::system::error_code ec;
    stream_.next_layer().connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
    connected_ = !ec;
  }
  bool handshake(asio::io_context& io) {
    bool done = false;
    boost::system::error_code result;
    stream_.async_handshake(ssl::stream_base::client, [&](const boost::system::error_code& ec) {
      result = ec;
      done = true;
    });
    return run_until(io, [&] { return done; }) && !result;
  }
  long peer_serial() {
    X509* x = SSL_get1_peer_certificate(stream_.native_handle());
    if (!x) return -1;
    long s = ASN1_INTEGER_get(X509_get0_serialNumber(x));
    X509_free(x);
    return s;
  }
  // Sends `raw` and reads until one complete response has arrived.
  std::optional<ParsedResponse> exchange(asio::io_context& io, const std::string& raw) {
    bool sent = false;
    asio::async_write(stream_, asio::buffer(raw), [&](const boost::system::error_code&, std::size_t) { sent = true; });
    if (!run_until(io, [&] { return sent; })) return std::nullopt;
    std::optional<ParsedResponse> out;
    bool failed = false;
    std::function<void()> read_more = [&] {
      stream_.async_read_some(asio::buffer(buf_), [&](const boost::system::error_code& ec, std::size_t n) {
        if (ec) {
          failed = true;
          return;
        }
        received_.append(buf_.data(), n);
        std::size_t used = 0;
        out = parse_response(received_, &used);
        if (out) {
          received_.erase(0, used);
        } else {
          read_more();
        }
      });
    };
    read_more();
    run_until(io, [&] { return out.has_value() || failed; });
    return out;
  }
  bool connected() const { return connected_; }

 private:
  ssl::context ctx_;
  ssl::stream<asio::ip::tcp::socket> stream_;
  std::array<char, 16384> buf_{};
  std::string received_;
  bool connected_ = false;
};

// A TLS client driven by hand over memory BIOs, so a test decides which
// records leave in one TCP write (asio's ssl::stream sends each as it goes).
class RawTlsClient {
 public:
  explicit RawTlsClient(uint16_t port) : ctx_(SSL_CTX_new(TLS_client_method())), ssl_(SSL_new(ctx_)) {
    rbio_ = BIO_new(BIO_s_mem());
    wbio_ = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl_, rbio_, wbio_);  // owned by ssl_ from here
    SSL_set_connect_state(ssl_);
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~RawTlsClient() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return connected_; }
  bool handshake(asio::io_context& io) {
    return run_until(io, [&] {
      int r = SSL_do_handshake(ssl_);
      flush();
      if (r == 1) return true;
      pump_in();
      return false;
    });
  }
  // Each piece as its own TLS record (one SSL_write each), all in one send(2).
  void send_records(const std::vector<std::string>& pieces) {
    for (const auto& p : pieces) SSL_write(ssl_, p.data(), static_cast<int>(p.size()));
    flush();
  }
  // Reads until `count` complete responses have arrived (or the deadline).
  std::vector<ParsedResponse> responses(asio::io_context& io, std::size_t count) {
    std::vector<ParsedResponse> out;
    run_until(io, [&] {
      pump_in();
      char buf[16384];
      int n;
      while ((n = SSL_read(ssl_, buf, sizeof buf)) > 0) received_.append(buf, static_cast<std::size_t>(n));
      std::size_t used = 0;
      while (auto r = parse_response(received_, &used)) {
        out.push_back(*r);
        received_.erase(0, used);
      }
      return out.size() >= count;
    });
    return out;
  }

 private:
  void flush() {
    char* p = nullptr;
    long n = BIO_get_mem_data(wbio_, &p);
    for (long off = 0; off < n;) {  // bounded: each send moves at least a byte or stops
      ssize_t w = ::send(fd_, p + off, static_cast<std::size_t>(n - off), MSG_NOSIGNAL);
      if (w <= 0) break;
      off += w;
    }
    (void)BIO_reset(wbio_);
  }
  void pump_in() {
    char buf[16384];
    ssize_t n;
    while ((n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT)) > 0) BIO_write(rbio_, buf, static_cast<int>(n));
  }

  SSL_CTX* ctx_;
  SSL* ssl_;
  BIO* rbio_ = nullptr;
  BIO* wbio_ = nullptr;
  int fd_ = -1;
  bool connected_ = false;
  std::string received_;
};

class TlsServerTest : public ServerTest {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hearth-net-tls-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::shared_ptr<ssl::context> context(long serial) {
    auto r = tls::make_server_context(make_cert(dir_, "c" + std::to_string(serial), serial), true);
    EXPECT_TRUE(r.context) << r.error;
    return r.context;
  }
  void start_tls(config::HttpLimits limits = {}) {
    server_ = std::make_unique<HttpServer>(io_, limits, "", handler_, "http");
    server_->set_tls_context(context(11));
    config::Bind bind;
    bind.host = "127.0.0.1";
    bind.text = "127.0.0.1:0";
    server_->listen(bind, /*tls=*/true);
    server_->start();
    auto urls = server_->bound_urls();
    ASSERT_EQ(urls.size(), 1u);
    ASSERT_EQ(urls[0].rfind("https://127.0.0.1:", 0), 0u) << urls[0];
    port_ = server_->first_tls_port();
    ASSERT_NE(port_, 0);
  }

  std::string dir_;
};

TEST_F(TlsServerTest, ServesHttp11OverTls) {
  start_tls();
  TlsClient c(io_, port_);
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.handshake(io_));
  EXPECT_EQ(c.peer_serial(), 11);
  for (int i = 0; i < 2; ++i) {  // keep-alive: two requests on one connection
    auto r = c.exchange(io_, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "hello /x");
  }
  ASSERT_EQ(handler_.requests.size(), 2u);
  EXPECT_TRUE(handler_.requests[0]->tls);
  EXPECT_EQ(server_->tls_handshake_failures(), 0u);
}

// Two requests in two records that arrive in one TCP segment: OpenSSL's
// read-ahead takes both with one read(2) and returns the first; the second is
// then only in OpenSSL's buffer. The connection must serve it without waiting
// for the socket to turn readable again (it never would): both answered.
TEST_F(TlsServerTest, RecordsReadAheadTogetherAreAllServed) {
  start_tls();
  RawTlsClient c(port_);
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.handshake(io_));
  for (int round = 0; round < 2; ++round) {  // the second round: on a connection that has been idle
    c.send_records({"GET /a HTTP/1.1\r\nHost: a\r\n\r\n", "GET /b HTTP/1.1\r\nHost: a\r\n\r\n",
                    "GET /c HTTP/1.1\r\nHost: a\r\n\r\n"});
    auto rs = c.responses(io_, 3);
    ASSERT_EQ(rs.size(), 3u) << "round " << round;
    EXPECT_EQ(rs[0].body, "hello /a");
    EXPECT_EQ(rs[1].body, "hello /b");
    EXPECT_EQ(rs[2].body, "hello /c");
  }
  EXPECT_EQ(handler_.requests.size(), 6u);
}

TEST_F(TlsServerTest, SilentClientIsClosedAfterHeaderTimeoutAndCounted) {
  config::HttpLimits limits;
  limits.header_timeout = milliseconds(200);
  start_tls(limits);
  auto c = connect();
  ASSERT_TRUE(run_until(io_, [&] { return server_->open_connections() == 1; }));
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(c->wait_closed(milliseconds(3000)));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, milliseconds(150));
  EXPECT_EQ(server_->tls_handshake_failures(), 1u);
  EXPECT_TRUE(run_until(io_, [&] { return server_->open_connections() == 0; }));
}

TEST_F(TlsServerTest, PlainHttpOnTheTlsPortGets400NotServed) {
  start_tls();
  auto c = connect();
  ASSERT_TRUE(c->send("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_TRUE(c->wait_closed());
  // A plain-text 400 that says what is wrong (as nginx does), then the close.
  EXPECT_EQ(c->received().rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << c->received();
  EXPECT_NE(c->received().find("use an https:// URL"), std::string::npos);
  EXPECT_TRUE(handler_.requests.empty());
  EXPECT_EQ(server_->tls_handshake_failures(), 1u);
  // Others are still served.
  TlsClient good(io_, port_);
  ASSERT_TRUE(good.handshake(io_));
  EXPECT_TRUE(good.exchange(io_, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
}

TEST_F(TlsServerTest, BinaryGarbageIsClosedWithoutAnAnswer) {
  start_tls();
  auto c = connect();
  ASSERT_TRUE(c->send(std::string("\x16\x03\x01\x00\x05hello", 10) + std::string(3000, '\xff')));
  EXPECT_TRUE(c->wait_closed());
  EXPECT_EQ(c->received().find("HTTP/1.1"), std::string::npos);
  EXPECT_EQ(server_->tls_handshake_failures(), 1u);
  EXPECT_TRUE(run_until(io_, [&] { return server_->open_connections() == 0; }));
}

TEST_F(TlsServerTest, CloseAllAbortsHandshakesInProgress) {
  start_tls();
  auto c = connect();
  ASSERT_TRUE(run_until(io_, [&] { return server_->open_connections() == 1; }));
  server_->close_all();
  EXPECT_EQ(server_->open_connections(), 0u);
  EXPECT_TRUE(c->wait_closed());
}

TEST_F(TlsServerTest, NewContextForNewConnectionsOnly) {
  start_tls();
  TlsClient old(io_, port_);
  ASSERT_TRUE(old.handshake(io_));
  ASSERT_TRUE(old.exchange(io_, "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"));
  server_->set_tls_context(context(22));
  TlsClient fresh(io_, port_);
  ASSERT_TRUE(fresh.handshake(io_));
  EXPECT_EQ(fresh.peer_serial(), 22);
  ASSERT_TRUE(fresh.exchange(io_, "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto r = old.exchange(io_, "GET /3 HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello /3");
  EXPECT_EQ(old.peer_serial(), 11);
}

}  // namespace
}  // namespace hearth::net::testing
