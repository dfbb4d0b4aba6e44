#include "health/public_pinger.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <memory>

#include "build_info.h"
#include "common/log.h"
#include "tls/openssl_loader.h"

namespace hearth::health {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

std::optional<ParsedUrl> parse_url(const std::string& url) {
  ParsedUrl u;
  std::string rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    u.https = true;
    rest = url.substr(8);
  } else {
    return std::nullopt;
  }
  auto slash = rest.find_first_of("/?");
  std::string authority = rest.substr(0, slash);
  u.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (!u.target.empty() && u.target[0] == '?') u.target = "/" + u.target;
  if (authority.empty() || authority.find('@') != std::string::npos) return std::nullopt;
  if (authority[0] == '[') {
    auto close = authority.find(']');
    if (close == std::string::npos) return std::nullopt;
    u.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return std::nullopt;
      u.port = authority.substr(close + 2);
    }
  } else {
    auto colon = authority.rfind(':');
    u.host = authority.substr(0, colon);
    if (colon != std::string::npos) u.port = authority.substr(colon + 1);
  }
  if (u.host.empty()) return std::nullopt;
  if (u.port.empty()) u.port = u.https ? "443" : "80";
  if (u.port.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return u;
}

// One request; owns its sockets. Plain and TLS share the flow through templates.
struct PublicPinger::Attempt : std::enable_shared_from_this<PublicPinger::Attempt> {
  // ssl is null for an http:// URL (no TLS stream is made then).
  Attempt(asio::io_context& io, asio::ssl::context* ssl, ParsedUrl u)
      : resolver(io), plain(io), url(std::move(u)), started(std::chrono::steady_clock::now()) {
    if (ssl) tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(io, *ssl);
  }
  tcp::resolver resolver;
  beast::tcp_stream plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  ParsedUrl url;
  bhttp::request<bhttp::empty_body> req;
  bhttp::response<bhttp::string_body> res;
  beast::flat_buffer buf;
  std::chrono::steady_clock::time_point started;
  std::function<void(bool, int, std::string)> finish;

  void run(std::chrono::milliseconds timeout) {
    req.method(bhttp::verb::get);
    req.target(url.target);
    req.version(11);
    bool default_port = (url.https && url.port == "443") || (!url.https && url.port == "80");
    req.set(bhttp::field::host, default_port ? url.host : url.host + ":" + url.port);
    req.set(bhttp::field::user_agent, std::string("hearth-keepwarm/") + build::kVersion);
    req.set(bhttp::field::connection, "close");
    plain.expires_after(timeout);
    if (tls) beast::get_lowest_layer(*tls).expires_after(timeout);
    auto self = shared_from_this();
    resolver.async_resolve(url.host, url.port, [self](beast::error_code ec, tcp::resolver::results_type r) {
      if (ec) return self->finish(false, 0, "resolve " + self->url.host + ": " + ec.message());
      auto& sock = self->tls ? beast::get_lowest_layer(*self->tls) : self->plain;
      sock.async_connect(r, [self](beast::error_code ec, const tcp::endpoint&) {
        if (ec) return self->finish(false, 0, "connect: " + ec.message());
        if (self->tls) self->handshake();
        else self->exchange(self->plain);
      });
    });
  }
  void handshake() {
    if (!SSL_set_tlsext_host_name(tls->native_handle(), url.host.c_str()))
      return finish(false, 0, "TLS SNI setup failed");
    tls->set_verify_callback(asio::ssl::host_name_verification(url.host));
    auto self = shared_from_this();
    tls->async_handshake(asio::ssl::stream_base::client, [self](beast::error_code ec) {
      if (ec) return self->finish(false, 0, "TLS handshake: " + ec.message());
      self->exchange(*self->tls);
    });
  }
  template <typename Stream>
  void exchange(Stream& s) {
    auto self = shared_from_this();
    bhttp::async_write(s, req, [self, &s](beast::error_code ec, std::size_t) {
      if (ec) return self->finish(false, 0, "write: " + ec.message());
      bhttp::async_read(s, self->buf, self->res, [self](beast::error_code ec, std::size_t) {
        if (ec) return self->finish(false, 0, "read: " + ec.message());
        int status = static_cast<int>(self->res.result_int());
        self->finish(status < 500, status, status < 500 ? "" : "status " + std::to_string(status));
      });
    });
  }
};

PublicPinger::PublicPinger(asio::io_context& io, std::string url, std::chrono::milliseconds interval,
                           std::chrono::milliseconds jitter, std::chrono::milliseconds timeout)
    : io_(io), url_(std::move(url)), parsed_(parse_url(url_)), interval_(interval), jitter_(jitter),
      timeout_(timeout), timer_(io), rng_(std::random_device{}()) {
  if (parsed_ && parsed_->https && !tls::load_openssl(load_error_)) {
    parsed_.reset();  // start() logs load_error_; no pings (main.cc's check makes this rare)
  } else if (parsed_ && parsed_->https) {
    ssl_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    ssl_->set_default_verify_paths();
    ssl_->set_verify_mode(asio::ssl::verify_peer);
  }
}

PublicPinger::~PublicPinger() { stop(); }

void PublicPinger::start() {
  if (url_.empty()) return;
  if (!load_error_.empty()) {
    HLOG_CTX(Error, "keepwarm", "keepwarm.url '" << url_ << "': " << load_error_ << "; pings disabled");
    return;
  }
  if (!parsed_) {
    HLOG_CTX(Error, "keepwarm", "keepwarm.url '" << url_ << "' is not an http(s) URL; pings disabled");
    return;
  }
  HLOG_CTX(Info, "keepwarm", "pinging " << url_ << " every " << interval_.count() / 1000 << " s (+-"
                                        << jitter_.count() / 1000 << " s)");
  schedule();
}

void PublicPinger::stop() {
  stopped_ = true;
  timer_.cancel();
}

void PublicPinger::schedule() {
  if (stopped_) return;
  auto j = jitter_.count();
  std::uniform_int_distribution<int64_t> d(-j, j);
  auto wait = std::max<int64_t>(interval_.count() + (j ? d(rng_) : 0), 100);
  timer_.expires_after(std::chrono::milliseconds(wait));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) ping();
  });
}

void PublicPinger::ping() {
  if (stopped_) return;
  if (in_flight_) {
    schedule();
    return;
  }
  in_flight_ = true;
  auto a = std::make_shared<Attempt>(io_, ssl_.get(), *parsed_);
  auto started = a->started;
  a->finish = [this, started](bool ok, int status, std::string error) {
    done(ok, status, error,
         std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started));
  };
  a->run(timeout_);
  schedule();
}

void PublicPinger::done(bool ok, int status, const std::string& error, std::chrono::milliseconds elapsed) {
  if (!in_flight_) return;
  in_flight_ = false;
  last_status_ = status;
  if (ok) {
    ++ok_;
    HLOG_CTX(Info, "keepwarm", "ping " << url_ << " -> " << status << " in " << elapsed.count() << " ms");
  } else {
    ++failed_;
    HLOG_CTX(Warn, "keepwarm", "ping " << url_ << " failed: " << error << " (" << elapsed.count() << " ms)");
  }
}

}  // namespace hearth::health
