#pragma once
// keepwarm.url: a GET to the app's public URL every keepwarm.interval (with
// jitter), so a PaaS that spins idle apps down (Render's free tier sleeps
// after 15 idle minutes) sees inbound traffic. HTTP or HTTPS (verified with
// the system's CA store), its own timeout, never blocks anything else;
// results are logged and counted.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>

namespace hearth::health {

struct ParsedUrl {
  bool https = false;
  std::string host;
  std::string port;
  std::string target;  // "/path?query"
};
// nullopt for anything but http:// or https:// URLs with a host.
std::optional<ParsedUrl> parse_url(const std::string& url);

class PublicPinger {
 public:
  PublicPinger(boost::asio::io_context& io, std::string url, std::chrono::milliseconds interval,
               std::chrono::milliseconds jitter, std::chrono::milliseconds timeout);
  ~PublicPinger();
  void start();
  void stop();
  uint64_t ok() const { return ok_; }
  uint64_t failed() const { return failed_; }
  int last_status() const { return last_status_; }

 private:
  struct Attempt;
  void schedule();
  void ping();
  void done(bool ok, int status, const std::string& error, std::chrono::milliseconds elapsed);

  boost::asio::io_context& io_;
  std::string url_;
  std::optional<ParsedUrl> parsed_;
  std::chrono::milliseconds interval_, jitter_, timeout_;
  boost::asio::steady_timer timer_;
  // Only for an https:// URL: an OpenSSL context (and the CA store) costs the
  // daemon ~4 MiB of RSS, which a plain-HTTP or disabled pinger does not pay.
  std::unique_ptr<boost::asio::ssl::context> ssl_;
  std::string load_error_;  // an https:// URL whose OpenSSL could not be loaded (tls/openssl_loader.h)
  std::mt19937_64 rng_;
  bool stopped_ = false;
  bool in_flight_ = false;
  uint64_t ok_ = 0;
  uint64_t failed_ = 0;
  int last_status_ = 0;
};

}  // namespace hearth::health
