#pragma once
// Metrics and the access log, fed by the proxy (one RequestRecord per request)
// and read from the pool, dispatcher and health components at scrape time.
// Per-worker memory comes from the pool's timer samples, never from the
// request path.
#include <boost/asio/io_context.hpp>
#include <array>
#include <memory>
#include <string>

#include "config/config.h"
#include "metrics/access_log.h"
#include "metrics/registry.h"
#include "proxy/observed_sink.h"

namespace hearth::supervisor {
class Pool;
class Worker;
}  // namespace hearth::supervisor
namespace hearth::proxy {
class Dispatcher;
}
namespace hearth::frontdoor {
class CompressionHandler;
class RateLimitHandler;
}

namespace hearth::net {
class HttpServer;
}
namespace hearth::health {
class Admission;
class HealthChecker;
class InternalKeepwarm;
class PublicPinger;
}  // namespace hearth::health

namespace hearth::app {

class Telemetry final : public proxy::RequestObserver {
 public:
  struct Sources {
    const supervisor::Pool* pool = nullptr;
    const proxy::Dispatcher* dispatcher = nullptr;
    const health::Admission* admission = nullptr;
    const health::HealthChecker* health = nullptr;
    const health::InternalKeepwarm* keepwarm_internal = nullptr;
    const health::PublicPinger* keepwarm_public = nullptr;
    const net::HttpServer* http = nullptr;  // the app listeners (TLS handshake failures)
    const frontdoor::RateLimitHandler* rate_limits = nullptr;  // [[rate_limit]]; null without rules
    const frontdoor::CompressionHandler* compression = nullptr;  // null unless compression.enabled
  };
  Telemetry(boost::asio::io_context& io, const config::Config& cfg);
  // Start-up regime: "" or an error (the access log file cannot be opened).
  std::string open();
  void set_sources(Sources s);
  void on_request_start() override;
  void on_request_done(const proxy::RequestRecord& record) override;
  void on_worker_ready(const supervisor::Worker& w);
  std::string expose() const;
  void reopen_logs();
  void flush();

 private:
  void register_callbacks();

  Sources src_;
  metrics::AccessLog access_log_;
  metrics::Registry reg_;
  metrics::Family<metrics::Counter>& requests_;
  metrics::Family<metrics::Counter>& static_requests_;
  metrics::Family<metrics::Histogram>& duration_;
  metrics::Family<metrics::Histogram>& queued_;
  metrics::Family<metrics::Histogram>& in_worker_;
  metrics::Family<metrics::Gauge>& in_flight_;
  metrics::Family<metrics::Counter>& timeouts_;
  metrics::Family<metrics::Counter>& client_aborts_;
  metrics::Family<metrics::Counter>& bytes_in_;
  metrics::Family<metrics::Counter>& bytes_out_;
  metrics::Family<metrics::Histogram>& boot_;
  metrics::Family<metrics::Histogram>& warmup_;

  // The children a request updates, looked up once (a label lookup builds a
  // vector of strings and searches a map): by method class x status class,
  // each made on first use as `with()` would.
  static constexpr std::size_t kMethodClasses = 8;  // GET HEAD POST PUT PATCH DELETE OPTIONS other
  static constexpr std::size_t kStatusClasses = 6;  // 1xx..5xx, none
  struct ByClass {
    metrics::Counter* requests = nullptr;
    metrics::Histogram* duration = nullptr;
    metrics::Histogram* in_worker = nullptr;
  };
  std::array<std::array<ByClass, kStatusClasses>, kMethodClasses> by_class_{};
  std::array<metrics::Histogram*, kMethodClasses> queued_by_method_{};
  metrics::Gauge* in_flight_all_ = nullptr;
  metrics::Counter* bytes_in_all_ = nullptr;
  metrics::Counter* bytes_out_all_ = nullptr;
};

}  // namespace hearth::app
