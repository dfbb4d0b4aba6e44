#pragma once
// Metrics and the access log, fed by the proxy (one RequestRecord per request)
// and read from the pool, dispatcher and health components at scrape time.
// Per-worker memory comes from the pool's timer samples, never from the
// request path.
//
// The metrics live in prometheus-cpp: a prometheus::Registry for what the
// request path pushes (through handles looked up once, never a label lookup
// per request), a CallbackCollector for what is read from the components at
// scrape time, a ProcessCollector for process_*. expose() serializes the three.
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <boost/asio/io_context.hpp>
#include <array>
#include <memory>
#include <string>

#include "config/config.h"
#include "metrics/access_log.h"
#include "metrics/callback_collector.h"
#include "metrics/process_collector.h"
#include "metrics/series_slots.h"
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
  prometheus::Registry reg_;
  metrics::CallbackCollector callbacks_;
  metrics::ProcessCollector process_;
  // hearth_worker_memory_bytes' worker label: a slot index, not the worker id.
  mutable metrics::SeriesSlots worker_slots_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Counter>& static_requests_;
  prometheus::Family<prometheus::Histogram>& duration_;
  prometheus::Family<prometheus::Histogram>& queued_;
  prometheus::Family<prometheus::Histogram>& in_worker_;
  prometheus::Family<prometheus::Gauge>& in_flight_;
  prometheus::Family<prometheus::Counter>& timeouts_;
  prometheus::Family<prometheus::Counter>& client_aborts_;
  prometheus::Family<prometheus::Counter>& bytes_in_;
  prometheus::Family<prometheus::Counter>& bytes_out_;
  prometheus::Family<prometheus::Histogram>& boot_;
  prometheus::Family<prometheus::Histogram>& warmup_;

  // The children a request updates, looked up once (a label lookup hashes a
  // std::map of strings under the family's mutex): by method class x status
  // class, each made on first use, so a series appears once it has a sample.
  static constexpr std::size_t kMethodClasses = 8;  // GET HEAD POST PUT PATCH DELETE OPTIONS other
  static constexpr std::size_t kStatusClasses = 6;  // 1xx..5xx, none
  static constexpr std::size_t kStaticStatuses = 11;  // 200 206 301 304 400 404 405 412 416 500 other
  struct ByClass {
    prometheus::Counter* requests = nullptr;
    prometheus::Histogram* duration = nullptr;
    prometheus::Histogram* in_worker = nullptr;
  };
  std::array<std::array<ByClass, kStatusClasses>, kMethodClasses> by_class_{};
  std::array<prometheus::Histogram*, kMethodClasses> queued_by_method_{};
  std::array<prometheus::Counter*, kStaticStatuses> static_by_status_{};
  prometheus::Gauge* in_flight_all_ = nullptr;
  prometheus::Counter* timeouts_all_ = nullptr;
  prometheus::Counter* client_aborts_all_ = nullptr;
  prometheus::Counter* bytes_in_all_ = nullptr;
  prometheus::Counter* bytes_out_all_ = nullptr;
  prometheus::Histogram* boot_all_ = nullptr;
  prometheus::Histogram* warmup_all_ = nullptr;
};

}  // namespace hearth::app
