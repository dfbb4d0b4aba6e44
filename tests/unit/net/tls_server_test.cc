// HttpServer with an HTTPS listener, driven in-process: a TLS client on the
// same io_context, silent and non-TLS clients (bounded by header_timeout,
// counted), close_all() during handshakes, and a context swap that leaves an
// open connection alone.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdlib.h>

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
