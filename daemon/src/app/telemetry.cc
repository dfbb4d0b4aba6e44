#include "app/telemetry.h"

#include <sys/time.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "build_info.h"
#include "frontdoor/compression_handler.h"
#include "frontdoor/rate_limit_handler.h"
#include "health/admission.h"
#include "net/http_server.h"
#include "health/health_checker.h"
#include "health/internal_keepwarm.h"
#include "health/public_pinger.h"
#include "proxy/dispatcher.h"
#include "supervisor/pool.h"

namespace hearth::app {

namespace {

using metrics::Labels;

// The method label's values; the last is "other".
const std::string kMethodNames[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"};

std::size_t method_class(const std::string& m) {
  for (std::size_t i = 0; i + 1 < std::size(kMethodNames); ++i)
    if (kMethodNames[i] == m) return i;
  return std::size(kMethodNames) - 1;
}

// The status label's values: 1xx..5xx, then "none".
const char* const kStatusNames[] = {"1xx", "2xx", "3xx", "4xx", "5xx", "none"};

std::size_t status_class(int status) {
  const int c = status / 100;
  return c >= 1 && c <= 5 ? static_cast<std::size_t>(c - 1) : 5;
}

// The static handler answers with a small fixed set of codes; anything else
// (none expected) is "other", so the label stays bounded.
const char* static_status(int status) {
  switch (status) {
    case 200: return "200";
    case 206: return "206";
    case 301: return "301";
    case 304: return "304";
    case 400: return "400";
    case 404: return "404";
    case 405: return "405";
    case 412: return "412";
    case 416: return "416";
    case 500: return "500";
    default: return "other";
  }
}

double seconds(TimePoint a, TimePoint b) { return std::chrono::duration<double>(b - a).count(); }

std::string_view header(const http::Request& r, std::string_view name) {
  for (auto& h : r.headers) {
    if (h.name.size() == name.size() && strncasecmp(h.name.data(), name.data(), name.size()) == 0) return h.value;
  }
  return {};
}

// The daemon's own RSS (bytes) and CPU (seconds), from /proc/self.
void self_usage(double* rss, double* cpu) {
  *rss = 0;
  *cpu = 0;
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  if (statm >> size >> resident) *rss = static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE));
  std::ifstream stat("/proc/self/stat");
  std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  auto close = content.rfind(')');
  if (close == std::string::npos) return;
  // Fields after the command: state(3) ... utime(14) stime(15).
  std::string rest = content.substr(close + 2);
  unsigned long utime = 0, stime = 0;
  int field = 3;
  std::size_t pos = 0;
  while (field < 14 && pos != std::string::npos) {
    pos = rest.find(' ', pos);
    if (pos != std::string::npos) ++pos;
    ++field;
  }
  if (pos == std::string::npos) return;
  if (std::sscanf(rest.c_str() + pos, "%lu %lu", &utime, &stime) == 2)
    *cpu = static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// Sums the zygote's and the workers' sampled PSS and RSS.
void app_memory(const supervisor::Pool& pool, double* pss, double* rss) {
  *pss = 0;
  *rss = 0;
  auto st = pool.status();
  if (st.zygote_memory) {
    *pss += static_cast<double>(st.zygote_memory->pss);
    *rss += static_cast<double>(st.zygote_memory->rss);
  }
  for (auto& w : st.workers) {
    if (!w.memory) continue;
    *pss += static_cast<double>(w.memory->pss);
    *rss += static_cast<double>(w.memory->rss);
  }
}

}  // namespace

Telemetry::Telemetry(boost::asio::io_context& io, const config::Config& cfg)
    : access_log_(io, cfg.log.access_log,
                  cfg.log.access_log_format == "json" ? metrics::AccessLog::Format::Json
                                                      : metrics::AccessLog::Format::Combined),
      requests_(reg_.counter("hearth_requests_total",
                             "Requests answered (by the app or a static mount), by method and status class.",
                             {"method", "status"})),
      static_requests_(reg_.counter("hearth_static_requests_total",
                                    "Requests answered by a [[static]] mount, by status code (200, 206, 304, 404, ...).",
                                    {"status"})),
      duration_(reg_.histogram("hearth_request_duration_seconds",
                               "Time from a complete request to the end of its response, measured at the proxy.",
                               {"method", "status"}, metrics::latency_buckets())),
      queued_(reg_.histogram("hearth_request_queue_seconds", "Time a request waited for a free worker slot.",
                             {"method"}, metrics::latency_buckets())),
      in_worker_(reg_.histogram("hearth_request_worker_seconds",
                                "Time from handing a request to a worker to the end of its response.",
                                {"method", "status"}, metrics::latency_buckets())),
      in_flight_(reg_.gauge("hearth_requests_in_flight", "Requests received and not yet answered.")),
      timeouts_(reg_.counter("hearth_request_timeouts_total", "Requests answered 504 because the worker took too long.")),
      client_aborts_(reg_.counter("hearth_client_aborts_total", "Requests whose client left before the response ended.")),
      bytes_in_(reg_.counter("hearth_request_bytes_total", "Request body bytes received.")),
      bytes_out_(reg_.counter("hearth_response_bytes_total", "Response body bytes produced by the app.")),
      boot_(reg_.histogram("hearth_worker_boot_seconds", "From fork to the app loaded in a worker (lazy import included).",
                           {}, {0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120})),
      warmup_(reg_.histogram("hearth_worker_warmup_seconds", "Warm-up (and admission health check) of a new worker.",
                             {}, {0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120})) {
  // Children that always exist, so dashboards see zeros rather than gaps.
  in_flight_.with({}).set(0);
  timeouts_.with({});
  client_aborts_.with({});
  bytes_in_.with({});
  bytes_out_.with({});
  in_flight_all_ = &in_flight_.with({});
  bytes_in_all_ = &bytes_in_.with({});
  bytes_out_all_ = &bytes_out_.with({});
  static_assert(std::size(kMethodNames) == kMethodClasses && std::size(kStatusNames) == kStatusClasses);
}

std::string Telemetry::open() { return access_log_.open(); }

void Telemetry::set_sources(Sources s) {
  src_ = s;
  register_callbacks();
}

void Telemetry::on_request_start() { in_flight_all_->add(1); }

void Telemetry::on_request_done(const proxy::RequestRecord& r) {
  in_flight_all_->add(-1);
  const http::Request& req = *r.request;
  const std::size_t mi = method_class(req.method);
  const std::size_t si = status_class(r.status);
  const std::string& m = kMethodNames[mi];
  const char* sc = kStatusNames[si];
  ByClass& c = by_class_[mi][si];
  if (!c.requests) c.requests = &requests_.with({m, sc});
  c.requests->inc();
  if (r.is_static) static_requests_.with({static_status(r.status)}).inc();
  if (!c.duration) c.duration = &duration_.with({m, sc});
  c.duration->observe(seconds(r.received_at, r.finished_at));
  if (r.dispatched) {
    if (!queued_by_method_[mi]) queued_by_method_[mi] = &queued_.with({m});
    queued_by_method_[mi]->observe(seconds(r.received_at, r.dispatched_at));
    if (!c.in_worker) c.in_worker = &in_worker_.with({m, sc});
    c.in_worker->observe(seconds(r.dispatched_at, r.finished_at));
  }
  if (r.status == 504) timeouts_.with({}).inc();
  if (r.client_gone) client_aborts_.with({}).inc();
  bytes_in_all_->inc(static_cast<double>(req.body.size()));
  bytes_out_all_->inc(static_cast<double>(r.bytes_out));

  if (access_log_.enabled()) {
    struct timeval tv;
    gettimeofday(&tv, nullptr);
    metrics::AccessEntry e;
    e.remote_addr = req.peer_addr;
    e.time_unix_ms = static_cast<int64_t>(tv.tv_sec) * 1000 + tv.tv_usec / 1000;
    e.method = req.method;
    e.target = req.target;
    e.protocol = req.version == 10 ? "HTTP/1.0" : (req.version == 20 ? "HTTP/2.0" : "HTTP/1.1");
    // A client that left before the response ended (an HTTP/2 stream reset, a closed
    // connection) is logged as nginx does: 499, no bytes, whatever the app answered.
    e.status = r.client_gone ? 499 : r.status;
    e.bytes = r.client_gone ? 0 : r.bytes_out;
    e.referer = header(req, "Referer");
    e.user_agent = header(req, "User-Agent");
    e.request_id = r.request_id;
    e.duration_s = seconds(r.received_at, r.finished_at);
    access_log_.write(e);
  }
}

void Telemetry::on_worker_ready(const supervisor::Worker& w) {
  boot_.with({}).observe(static_cast<double>(w.boot_ms()) / 1000.0);
  warmup_.with({}).observe(static_cast<double>(w.warmup_ms()) / 1000.0);
}

void Telemetry::reopen_logs() { access_log_.reopen(); }
void Telemetry::flush() { access_log_.flush(); }

void Telemetry::register_callbacks() {
  using Emit = metrics::Registry::Emit;
  reg_.callback("hearth_queue_length", "Requests waiting for a free worker slot.", {}, [this](const Emit& emit) {
    emit({}, src_.dispatcher ? static_cast<double>(src_.dispatcher->queue_length()) : 0);
  });
  reg_.callback(
      "hearth_queue_rejected_total", "Requests answered 503 because the queue was full or the wait expired.", {"reason"},
      [this](const Emit& emit) {
        if (!src_.dispatcher) return;
        emit({"full"}, static_cast<double>(src_.dispatcher->stats().rejected_full));
        emit({"timeout"}, static_cast<double>(src_.dispatcher->stats().rejected_timeout));
      },
      true);
  reg_.callback("hearth_requests_retried_total",
                "Requests sent to another worker because theirs died before answering (retry_methods).", {},
                [this](const Emit& emit) {
                  emit({}, src_.dispatcher ? static_cast<double>(src_.dispatcher->stats().retried) : 0);
                },
                true);
  reg_.callback(
      "hearth_tls_handshake_failures_total",
      "HTTPS connections closed because the TLS handshake failed or timed out (header_timeout).", {},
      [this](const Emit& emit) { emit({}, src_.http ? static_cast<double>(src_.http->tls_handshake_failures()) : 0); },
      true);
  reg_.callback(
      "hearth_rate_limited_total",
      "Requests answered 429 by a [[rate_limit]] rule (label: the rule's prefix, and its methods if it lists some).",
      {"rule"},
      [this](const Emit& emit) {
        if (!src_.rate_limits) return;
        for (const auto& r : src_.rate_limits->limited()) emit({r.rule}, static_cast<double>(r.limited));
      },
      true);
  reg_.callback(
      "hearth_compressed_responses_total",
      "App responses compressed by [compression], by Content-Encoding.", {"encoding"},
      [this](const Emit& emit) {
        if (!src_.compression) return;
        auto n = src_.compression->compressed();
        emit({"br"}, static_cast<double>(n.br));
        emit({"gzip"}, static_cast<double>(n.gzip));
      },
      true);
  reg_.callback(
      "hearth_connections_refused_total",
      "Connections closed at once because their client address held http.max_connections_per_ip already.",
      {"reason"}, [this](const Emit& emit) { emit({"per_ip"}, src_.http ? static_cast<double>(src_.http->per_ip_refused()) : 0); },
      true);
  reg_.callback(
      "hearth_proxy_protocol_refused_total",
      "Connections closed because the PROXY protocol header was missing, malformed or late, or its sender is not in "
      "proxy_allow_ips.",
      {}, [this](const Emit& emit) { emit({}, src_.http ? static_cast<double>(src_.http->proxy_protocol_refused()) : 0); },
      true);
  reg_.callback("hearth_workers", "Workers by state.", {"state"}, [this](const Emit& emit) {
    if (!src_.pool) return;
    std::map<std::string, int> by_state{{"booting", 0}, {"warming", 0}, {"ready", 0}, {"draining", 0}, {"stopping", 0}};
    for (auto& w : src_.pool->workers()) {
      std::string s = supervisor::worker_state_name(w->state());
      if (s == "forking") s = "booting";
      if (s == "dead") continue;
      ++by_state[s];
    }
    for (auto& [s, n] : by_state) emit({s}, n);
  });
  reg_.callback("hearth_workers_desired", "The worker count the pool aims for (after the memory budget cap).", {},
                [this](const Emit& emit) {
                  if (src_.pool) emit({}, src_.pool->status().effective);
                });
  reg_.callback("hearth_memory_budget_exceeded",
                "1 when memory_budget cannot be met: the app's processes use more than it with one worker.", {},
                [this](const Emit& emit) {
                  if (src_.pool) emit({}, src_.pool->status().budget_unmet ? 1 : 0);
                });
  reg_.callback("hearth_app_memory_pss_bytes",
                "PSS of the app's process tree (zygotes and workers) at the last memory sample, under memory_budget.",
                {}, [this](const Emit& emit) {
                  if (!src_.pool) return;
                  auto st = src_.pool->status();
                  if (st.memory_budget > 0) emit({}, static_cast<double>(st.app_pss));
                });
  reg_.callback("hearth_busy_ratio", "Busy request slots over all slots of ready workers (0..1).", {},
                [this](const Emit& emit) {
                  if (!src_.pool) return;
                  double busy = 0, total = 0;
                  for (auto& w : src_.pool->workers()) {
                    if (w->state() != supervisor::Worker::State::Ready) continue;
                    busy += static_cast<double>(w->busy_slots());
                    total += static_cast<double>(w->slots().size());
                  }
                  emit({}, total > 0 ? busy / total : 0);
                });
  reg_.callback(
      "hearth_worker_restarts_total", "Workers stopped and replaced, by reason.", {"reason"},
      [this](const Emit& emit) {
        if (!src_.pool) return;
        std::map<std::string, uint64_t> all{{"crash", 0},       {"timeout", 0},      {"memory", 0},
                                            {"max_requests", 0}, {"reload", 0},       {"health", 0},
                                            {"boot_failed", 0},  {"boot_timeout", 0}, {"scale", 0}};
        for (auto& [k, v] : src_.pool->counters().restarts) all[k] = v;
        for (auto& [k, v] : all) emit({k}, static_cast<double>(v));
      },
      true);
  reg_.callback(
      "hearth_reloads_total", "Rolling reloads by result.", {"result"},
      [this](const Emit& emit) {
        if (!src_.pool) return;
        emit({"ok"}, static_cast<double>(src_.pool->counters().reloads_ok));
        emit({"failed"}, static_cast<double>(src_.pool->counters().reloads_failed));
      },
      true);
  reg_.callback("hearth_last_reload_duration_seconds", "How long the last successful reload took.", {},
                [this](const Emit& emit) {
                  if (src_.pool) emit({}, src_.pool->counters().last_reload_seconds);
                });
  reg_.callback("hearth_generation", "The generation (zygote + workers) currently serving.", {},
                [this](const Emit& emit) {
                  if (src_.pool) emit({}, src_.pool->generation());
                });
  reg_.callback("hearth_worker_memory_bytes",
                "Per-worker memory from smaps_rollup: rss counts shared pages, pss splits them, uss is private.",
                {"worker", "kind"}, [this](const Emit& emit) {
                  if (!src_.pool) return;
                  for (auto& w : src_.pool->workers()) {
                    auto& m = w->memory();
                    if (!m || w->state() == supervisor::Worker::State::Dead) continue;
                    std::string id = std::to_string(w->id());
                    emit({id, "rss"}, static_cast<double>(m->rss));
                    emit({id, "pss"}, static_cast<double>(m->pss));
                    emit({id, "uss"}, static_cast<double>(m->uss));
                  }
                });
  reg_.callback("hearth_app_memory_bytes",
                "The app's memory (zygote + workers): pss is the real total, rss the naive sum.", {"kind"},
                [this](const Emit& emit) {
                  if (!src_.pool) return;
                  double pss, rss;
                  app_memory(*src_.pool, &pss, &rss);
                  emit({"pss"}, pss);
                  emit({"rss"}, rss);
                });
  reg_.callback("hearth_app_memory_shared_ratio",
                "1 - total PSS / total RSS: the share of the app's resident pages that copy-on-write saves.", {},
                [this](const Emit& emit) {
                  if (!src_.pool) return;
                  double pss, rss;
                  app_memory(*src_.pool, &pss, &rss);
                  emit({}, rss > 0 ? 1.0 - pss / rss : 0);
                });
  reg_.callback(
      "hearth_health_checks_total", "Active health checks by result.", {"result"},
      [this](const Emit& emit) {
        if (!src_.health) return;
        emit({"ok"}, static_cast<double>(src_.health->checks_ok()));
        emit({"failed"}, static_cast<double>(src_.health->checks_failed()));
      },
      true);
  reg_.callback(
      "hearth_health_ejections_total", "Workers ejected by active health checks.", {},
      [this](const Emit& emit) {
        if (src_.health) emit({}, static_cast<double>(src_.health->ejections()));
      },
      true);
  reg_.callback(
      "hearth_warmups_total", "Admissions of new workers (warm-up + health check) by result.", {"result"},
      [this](const Emit& emit) {
        if (!src_.admission) return;
        emit({"ok"}, static_cast<double>(src_.admission->warmups_ok()));
        emit({"failed"}, static_cast<double>(src_.admission->warmups_failed()));
      },
      true);
  reg_.callback(
      "hearth_keepwarm_pings_total", "Keep-warm requests: internal (through workers) and public (the app's URL).",
      {"kind", "result"},
      [this](const Emit& emit) {
        if (src_.keepwarm_internal) {
          emit({"internal", "ok"}, static_cast<double>(src_.keepwarm_internal->pings_ok()));
          emit({"internal", "failed"}, static_cast<double>(src_.keepwarm_internal->pings_failed()));
        }
        if (src_.keepwarm_public) {
          emit({"public", "ok"}, static_cast<double>(src_.keepwarm_public->ok()));
          emit({"public", "failed"}, static_cast<double>(src_.keepwarm_public->failed()));
        }
      },
      true);
  reg_.callback("process_resident_memory_bytes", "hearthd's own resident memory.", {}, [](const Emit& emit) {
    double rss, cpu;
    self_usage(&rss, &cpu);
    emit({}, rss);
  });
  reg_.callback(
      "process_cpu_seconds_total", "hearthd's own CPU time (user + system).", {},
      [](const Emit& emit) {
        double rss, cpu;
        self_usage(&rss, &cpu);
        emit({}, cpu);
      },
      true);
  reg_.callback("hearth_build_info", "Build information (always 1).", {"version"},
                [](const Emit& emit) { emit({build::kVersion}, 1); });
}

std::string Telemetry::expose() const { return reg_.expose(); }

}  // namespace hearth::app
