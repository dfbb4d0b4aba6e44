#pragma once
// Metrics and the access log, fed by the proxy (one RequestRecord per request)
// and read from the pool, dispatcher and health components at scrape time.
// Per-worker memory comes from the pool's timer samples, never from the
// request path.
//
// /metrics is written by prometheus-cpp's TextSerializer from four
// Collectables: a LoopCollector for what the request path pushes (plain
// counters and histogram buckets of the io_context's thread, through handles
// looked up once: no label lookup, atomic or mutex per request), the
// prometheus::Registry for what changes once per worker (boot and warm-up
// histograms), a CallbackCollector for what is read from the components at
// scrape time, a ProcessCollector for process_*. Every update and every scrape
// happens on the daemon's io_context (keep-warm's resolver thread only
// completes through it).
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <boost/asio/io_context.hpp>
#include <array>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "metrics/access_log.h"
#include "metrics/callback_collector.h"
#include "metrics/loop_collector.h"
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
  // One app's components (every app of [[apps]], or the single app named
  // "app"): each per-app series carries an `app` label with its name.
  struct AppSources {
    std::string name;
    const supervisor::Pool* pool = nullptr;  // null while the app has none (not built yet)
    const proxy::Dispatcher* dispatcher = nullptr;
    const health::Admission* admission = nullptr;
    const health::HealthChecker* health = nullptr;
    const health::InternalKeepwarm* keepwarm_internal = nullptr;
    const health::PublicPinger* keepwarm_public = nullptr;
  };
  struct Sources {
    std::vector<AppSources> apps;
    const net::HttpServer* http = nullptr;  // the app listeners (TLS handshake failures)
    const frontdoor::RateLimitHandler* rate_limits = nullptr;  // [[rate_limit]]; null without rules
    const frontdoor::CompressionHandler* compression = nullptr;  // null unless compression.enabled
  };
  Telemetry(boost::asio::io_context& io, const config::Config& cfg);
  // Start-up regime: "" or an error (the access log file cannot be opened).
  std::string open();
  void set_sources(Sources s);
  // The daemon's own answers (static files, 429s, no route): app="".
  void on_request_start() override;
  void on_request_done(const proxy::RequestRecord& record) override;
  // The observer for app number `app` (config order; the single-app form's is 0;
  // then the [[upstreams]], numbered after the apps): its requests' series
  // carry app=NAME. Lives as long as the Telemetry.
  proxy::RequestObserver* app_observer(std::size_t app);
  // The observer of the app named `name`: its series when it had some (an app
  // a configuration reload replaced keeps counting in the same series), else
  // new ones (an added app). Lives as long as the Telemetry.
  proxy::RequestObserver* observer_for(const std::string& name);
  void on_worker_ready(const supervisor::Worker& w);
  std::string expose() const;
  void reopen_logs();
  void flush();

 private:
  void register_callbacks();

  Sources src_;
  metrics::AccessLog access_log_;
  metrics::LoopCollector loop_;
  prometheus::Registry reg_;
  metrics::CallbackCollector callbacks_;
  metrics::ProcessCollector process_;
  // hearth_worker_memory_bytes' worker label: a slot index, not the worker id.
  // One per app (Sources::apps order).
  mutable std::vector<metrics::SeriesSlots> worker_slots_;
  // Per request (loop_), in the order prometheus-cpp's registry wrote them:
  // counters, the gauge, histograms.
  metrics::LoopFamily<metrics::LoopCounter>& requests_;
  metrics::LoopFamily<metrics::LoopCounter>& static_requests_;
  metrics::LoopFamily<metrics::LoopCounter>& timeouts_;
  metrics::LoopFamily<metrics::LoopCounter>& client_aborts_;
  metrics::LoopFamily<metrics::LoopCounter>& bytes_in_;
  metrics::LoopFamily<metrics::LoopCounter>& bytes_out_;
  metrics::LoopFamily<metrics::LoopGauge>& in_flight_;
  metrics::LoopFamily<metrics::LoopHistogram>& duration_;
  metrics::LoopFamily<metrics::LoopHistogram>& queued_;
  metrics::LoopFamily<metrics::LoopHistogram>& in_worker_;
  // Per worker (reg_).
  prometheus::Family<prometheus::Histogram>& boot_;
  prometheus::Family<prometheus::Histogram>& warmup_;

  // The series a request updates, looked up once: by method class x status
  // class, each made on first use, so a series appears once it has a sample.
  static constexpr std::size_t kMethodClasses = 8;  // GET HEAD POST PUT PATCH DELETE OPTIONS other
  static constexpr std::size_t kStatusClasses = 6;  // 1xx..5xx, none
  static constexpr std::size_t kStaticStatuses = 11;  // 200 206 301 304 400 404 405 412 416 500 other
  struct ByClass {
    metrics::LoopCounter* requests = nullptr;
    metrics::LoopHistogram* duration = nullptr;
    metrics::LoopHistogram* in_worker = nullptr;
  };
  // One app's per-request series; also its proxy's observer.
  struct PerApp final : proxy::RequestObserver {
    std::string name;
    Telemetry* telemetry = nullptr;
    std::array<std::array<ByClass, kStatusClasses>, kMethodClasses> by_class{};
    std::array<metrics::LoopHistogram*, kMethodClasses> queued_by_method{};
    metrics::LoopGauge* in_flight = nullptr;
    metrics::LoopCounter* timeouts = nullptr;
    metrics::LoopCounter* client_aborts = nullptr;
    metrics::LoopCounter* bytes_in = nullptr;
    metrics::LoopCounter* bytes_out = nullptr;
    void on_request_start() override { in_flight->increment(); }
    void on_request_done(const proxy::RequestRecord& r) override { telemetry->record(r, *this); }
  };
  void record(const proxy::RequestRecord& r, PerApp& p);
  PerApp& add_per_app(std::string name);
  // The apps in config order, then the daemon's own (app=""), then apps a
  // configuration reload added (a deque: pointers stay valid as it grows).
  std::deque<PerApp> per_app_;
  PerApp* own_ = nullptr;  // the daemon's own answers
  std::array<metrics::LoopCounter*, kStaticStatuses> static_by_status_{};
  prometheus::Histogram* boot_all_ = nullptr;
  prometheus::Histogram* warmup_all_ = nullptr;
};

}  // namespace hearth::app
