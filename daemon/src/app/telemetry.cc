#include "app/telemetry.h"

#include <sys/time.h>
#include <unistd.h>

#include "build_info.h"
#include "frontdoor/compression_handler.h"
#include "frontdoor/rate_limit_handler.h"
#include "health/admission.h"
#include "net/http_server.h"
#include "health/health_checker.h"
#include "health/internal_keepwarm.h"
#include "health/public_pinger.h"
#include "metrics/exposition.h"
#include "proxy/dispatcher.h"
#include "supervisor/pool.h"

namespace hearth::app {

namespace {

// A per-app callback's emit(): the app's name goes first in the label values.
auto app_emit(const metrics::CallbackCollector::Emit& emit, const std::string& app) {
  return [&emit, &app](std::vector<std::string> labels, double v) {
    labels.insert(labels.begin(), app);
    emit(labels, v);
  };
}

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
const int kStaticStatusCodes[] = {200, 206, 301, 304, 400, 404, 405, 412, 416, 500};
const char* const kStaticStatusNames[] = {"200", "206", "301", "304", "400", "404",
                                          "405", "412", "416", "500", "other"};

std::size_t static_status(int status) {
  for (std::size_t i = 0; i < std::size(kStaticStatusCodes); ++i)
    if (kStaticStatusCodes[i] == status) return i;
  return std::size(kStaticStatusCodes);
}

// Worker boot and warm-up (seconds): 10 ms .. 120 s.
const std::vector<double>& life_buckets() {
  static const std::vector<double> b{0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120};
  return b;
}

template <typename Builder>
auto& family(Builder builder, prometheus::Registry& reg, const std::string& name, const std::string& help) {
  return builder.Name(name).Help(metrics::checked_help(help)).Register(reg);
}

double seconds(TimePoint a, TimePoint b) { return std::chrono::duration<double>(b - a).count(); }

std::string_view header(const http::Request& r, std::string_view name) {
  for (auto& h : r.headers) {
    if (h.name.size() == name.size() && strncasecmp(h.name.data(), name.data(), name.size()) == 0) return h.value;
  }
  return {};
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
      requests_(loop_.add_counter("hearth_requests_total",
                                  "Requests answered (by the app or a static mount), by method and status class.",
                                  {"app", "method", "status"})),
      static_requests_(loop_.add_counter(
          "hearth_static_requests_total",
          "Requests answered by a [[static]] mount, by status code (200, 206, 304, 404, ...).", {"status"})),
      timeouts_(loop_.add_counter("hearth_request_timeouts_total",
                                  "Requests answered 504 because the worker took too long.", {"app"})),
      client_aborts_(loop_.add_counter("hearth_client_aborts_total",
                                       "Requests whose client left before the response ended.", {"app"})),
      bytes_in_(loop_.add_counter("hearth_request_bytes_total", "Request body bytes received.", {"app"})),
      bytes_out_(loop_.add_counter("hearth_response_bytes_total", "Response body bytes produced by the app.", {"app"})),
      in_flight_(loop_.add_gauge("hearth_requests_in_flight", "Requests received and not yet answered.", {"app"})),
      duration_(loop_.add_histogram("hearth_request_duration_seconds",
                                    "Time from a complete request to the end of its response, measured at the proxy.",
                                    {"app", "method", "status"}, metrics::latency_buckets())),
      queued_(loop_.add_histogram("hearth_request_queue_seconds", "Time a request waited for a free worker slot.",
                                  {"app", "method"}, metrics::latency_buckets())),
      in_worker_(loop_.add_histogram("hearth_request_worker_seconds",
                                     "Time from handing a request to a worker to the end of its response.",
                                     {"app", "method", "status"}, metrics::latency_buckets())),
      boot_(family(prometheus::BuildHistogram(), reg_, "hearth_worker_boot_seconds",
                   "From fork to the app loaded in a worker (lazy import included).")),
      warmup_(family(prometheus::BuildHistogram(), reg_, "hearth_worker_warmup_seconds",
                     "Warm-up (and admission health check) of a new worker.")) {
  // One set of per-request series per app (app=NAME; the single-app form's
  // app is "app"), then the daemon's own answers (static files, 429s, no
  // route: app=""). Series that always exist, so dashboards see zeros rather than gaps.
  std::vector<std::string> names;
  for (const auto& a : cfg.apps) names.push_back(a.name);
  if (names.empty() && (!cfg.app.empty() || cfg.upstreams.empty())) names.push_back(config::kSingleAppName);
  for (const auto& u : cfg.upstreams) names.push_back(u.name);  // observer_for(NAME) of each [[upstreams]]
  names.emplace_back();
  for (auto& n : names) add_per_app(std::move(n));
  own_ = &per_app_.back();
  static_assert(std::size(kMethodNames) == kMethodClasses && std::size(kStatusNames) == kStatusClasses &&
                std::size(kStaticStatusNames) == kStaticStatuses);
}

std::string Telemetry::open() { return access_log_.open(); }

void Telemetry::set_sources(Sources s) {
  src_ = s;
  worker_slots_.assign(src_.apps.size(), metrics::SeriesSlots{});
  register_callbacks();
}

Telemetry::PerApp& Telemetry::add_per_app(std::string name) {
  PerApp& p = per_app_.emplace_back();
  p.name = std::move(name);
  p.telemetry = this;
  p.in_flight = &in_flight_.add({p.name});
  p.timeouts = &timeouts_.add({p.name});
  p.client_aborts = &client_aborts_.add({p.name});
  p.bytes_in = &bytes_in_.add({p.name});
  p.bytes_out = &bytes_out_.add({p.name});
  return p;
}

proxy::RequestObserver* Telemetry::app_observer(std::size_t app) {
  if (app < per_app_.size() && &per_app_[app] != own_) return &per_app_[app];
  return this;
}

proxy::RequestObserver* Telemetry::observer_for(const std::string& name) {
  for (auto& p : per_app_) {
    if (&p != own_ && p.name == name) return &p;
  }
  return &add_per_app(name);
}

void Telemetry::on_request_start() { own_->in_flight->increment(); }

void Telemetry::on_request_done(const proxy::RequestRecord& r) { record(r, *own_); }

void Telemetry::record(const proxy::RequestRecord& r, PerApp& p) {
  p.in_flight->decrement();
  const http::Request& req = *r.request;
  const std::size_t mi = method_class(req.method);
  const std::size_t si = status_class(r.status);
  const std::string& m = kMethodNames[mi];
  const char* sc = kStatusNames[si];
  ByClass& c = p.by_class[mi][si];
  if (!c.requests) c.requests = &requests_.add({p.name, m, sc});
  c.requests->increment();
  if (r.is_static) {
    metrics::LoopCounter*& s = static_by_status_[static_status(r.status)];
    if (!s) s = &static_requests_.add({kStaticStatusNames[static_status(r.status)]});
    s->increment();
  }
  if (!c.duration) c.duration = &duration_.add({p.name, m, sc});
  c.duration->observe(seconds(r.received_at, r.finished_at));
  if (r.dispatched) {
    if (!p.queued_by_method[mi]) p.queued_by_method[mi] = &queued_.add({p.name, m});
    p.queued_by_method[mi]->observe(seconds(r.received_at, r.dispatched_at));
    if (!c.in_worker) c.in_worker = &in_worker_.add({p.name, m, sc});
    c.in_worker->observe(seconds(r.dispatched_at, r.finished_at));
  }
  if (r.status == 504) p.timeouts->increment();
  if (r.client_gone) p.client_aborts->increment();
  p.bytes_in->increment(req.body.size());
  p.bytes_out->increment(r.bytes_out);

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
  if (!boot_all_) boot_all_ = &boot_.Add({}, life_buckets());
  if (!warmup_all_) warmup_all_ = &warmup_.Add({}, life_buckets());
  boot_all_->Observe(static_cast<double>(w.boot_ms()) / 1000.0);
  warmup_all_->Observe(static_cast<double>(w.warmup_ms()) / 1000.0);
}

void Telemetry::reopen_logs() { access_log_.reopen(); }
void Telemetry::flush() { access_log_.flush(); }

void Telemetry::register_callbacks() {
  using Emit = metrics::CallbackCollector::Emit;
  using Type = metrics::CallbackCollector::Type;
  // A per-app family: fn(index, app, emit) for each app, whose name is the first label value.
  auto per_app = [this](std::string name, std::string help, Type type, std::vector<std::string> labels, auto fn) {
    callbacks_.add(std::move(name), std::move(help), type, std::move(labels), [this, fn](const Emit& emit_) {
      for (std::size_t ai = 0; ai < src_.apps.size(); ++ai) fn(ai, src_.apps[ai], app_emit(emit_, src_.apps[ai].name));
    });
  };
  callbacks_.add(
      "hearth_tls_handshake_failures_total",
      "HTTPS connections closed because the TLS handshake failed or timed out (header_timeout).", Type::Counter, {},
      [this](const Emit& emit) { emit({}, src_.http ? static_cast<double>(src_.http->tls_handshake_failures()) : 0); });
  callbacks_.add(
      "hearth_rate_limited_total",
      "Requests answered 429 by a [[rate_limit]] rule (label: the rule's prefix, and its methods if it lists some).",
      Type::Counter, {"rule"}, [this](const Emit& emit) {
        if (!src_.rate_limits) return;
        for (const auto& r : src_.rate_limits->limited()) emit({r.rule}, static_cast<double>(r.limited));
      });
  callbacks_.add("hearth_compressed_responses_total", "App responses compressed by [compression], by Content-Encoding.",
                 Type::Counter, {"encoding"}, [this](const Emit& emit) {
                   if (!src_.compression) return;
                   auto n = src_.compression->compressed();
                   emit({"br"}, static_cast<double>(n.br));
                   emit({"gzip"}, static_cast<double>(n.gzip));
                 });
  callbacks_.add("hearth_connections_refused_total",
                 "Connections closed at once because their client address held http.max_connections_per_ip already.",
                 Type::Counter, {"reason"}, [this](const Emit& emit) {
                   emit({"per_ip"}, src_.http ? static_cast<double>(src_.http->per_ip_refused()) : 0);
                 });
  callbacks_.add(
      "hearth_proxy_protocol_refused_total",
      "Connections closed because the PROXY protocol header was missing, malformed or late, or its sender is not in "
      "proxy_allow_ips.",
      Type::Counter, {},
      [this](const Emit& emit) { emit({}, src_.http ? static_cast<double>(src_.http->proxy_protocol_refused()) : 0); });
  callbacks_.add("hearth_idle_connections_parked",
                 "Idle plain HTTP/1.1 keep-alive connections parked now: a socket and a deadline, no connection object.",
                 Type::Gauge, {}, [this](const Emit& emit) {
                   emit({}, src_.http ? static_cast<double>(src_.http->parked_connections()) : 0);
                 });
  callbacks_.add("hearth_websocket_connections", "WebSocket connections open now (accepted by the app).",
                 Type::Gauge, {}, [this](const Emit& emit) {
                   emit({}, src_.http ? static_cast<double>(src_.http->websocket_stats().open) : 0);
                 });
  callbacks_.add("hearth_websocket_messages_total",
                 "Whole WebSocket messages relayed: direction=\"in\" from clients to the app, \"out\" to clients.",
                 Type::Counter, {"direction"}, [this](const Emit& emit) {
                   if (!src_.http) return;
                   auto ws = src_.http->websocket_stats();
                   emit({"in"}, static_cast<double>(ws.messages_in));
                   emit({"out"}, static_cast<double>(ws.messages_out));
                 });
  per_app("hearth_queue_length", "Requests waiting for a free worker slot.", Type::Gauge, {"app"}, [this](std::size_t, const AppSources& a, const auto& emit) {
                     emit({}, a.dispatcher ? static_cast<double>(a.dispatcher->queue_length()) : 0);
                 });
  per_app("hearth_queue_rejected_total", "Requests answered 503 because the queue was full or the wait expired.",
                 Type::Counter, {"app", "reason"}, [this](std::size_t, const AppSources& a, const auto& emit) {
                     if (!a.dispatcher) return;
                     emit({"full"}, static_cast<double>(a.dispatcher->stats().rejected_full));
                     emit({"timeout"}, static_cast<double>(a.dispatcher->stats().rejected_timeout));
                 });
  per_app("hearth_requests_retried_total",
                 "Requests sent to another worker because theirs died before answering (retry_methods).", Type::Counter,
                 {"app"}, [this](std::size_t, const AppSources& a, const auto& emit) {
                     emit({}, a.dispatcher ? static_cast<double>(a.dispatcher->stats().retried) : 0);
                 });
  per_app("hearth_requests_sent_ahead_total",
                 "Requests written to a busy WSGI slot behind its current one (dispatch_ahead); returned: of those, "
                 "handed back unstarted because the slot failed first, and sent elsewhere; withdrawn: taken back "
                 "from a slot still busy, for a free slot or a 503 at queue_timeout.",
                 Type::Counter, {"app", "outcome"}, [this](std::size_t, const AppSources& a, const auto& emit) {
                     if (!a.dispatcher) return;
                     emit({"sent"}, static_cast<double>(a.dispatcher->stats().ahead));
                     emit({"returned"}, static_cast<double>(a.dispatcher->stats().ahead_returned));
                     emit({"withdrawn"}, static_cast<double>(a.dispatcher->stats().ahead_withdrawn));
                 });
  per_app("hearth_workers", "Workers by state.", Type::Gauge, {"app", "state"}, [this](std::size_t, const AppSources& a, const auto& emit) {
      if (!a.pool) return;
      std::map<std::string, int> by_state{
          {"booting", 0}, {"warming", 0}, {"ready", 0}, {"draining", 0}, {"stopping", 0}};
      for (auto& w : a.pool->workers()) {
        std::string s = supervisor::worker_state_name(w->state());
        if (s == "forking") s = "booting";
        if (s == "dead") continue;
        ++by_state[s];
      }
      for (auto& [s, n] : by_state) emit({s}, n);
  });
  per_app("hearth_workers_desired", "The worker count the pool aims for (after the memory budget cap).",
                 Type::Gauge, {"app"}, [this](std::size_t, const AppSources& a, const auto& emit) {
                     if (a.pool) emit({}, a.pool->status().effective);
                 });
  per_app("hearth_memory_budget_exceeded",
                 "1 when memory_budget cannot be met: the app's processes use more than it with one worker.",
                 Type::Gauge, {"app"}, [this](std::size_t, const AppSources& a, const auto& emit) {
                     if (a.pool) emit({}, a.pool->status().budget_unmet ? 1 : 0);
                 });
  per_app("hearth_app_memory_pss_bytes",
                 "PSS of the app's process tree (zygotes and workers) at the last memory sample, under memory_budget.",
                 Type::Gauge, {"app"}, [this](std::size_t, const AppSources& a, const auto& emit) {
                     if (!a.pool) return;
                     auto st = a.pool->status();
                     if (st.memory_budget > 0) emit({}, static_cast<double>(st.app_pss));
                 });
  per_app("hearth_busy_ratio", "Busy request slots over all slots of ready workers (0..1).", Type::Gauge,
                 {"app"}, [this](std::size_t, const AppSources& a, const auto& emit) {
                     if (!a.pool) return;
                     double busy = 0, total = 0;
                     for (auto& w : a.pool->workers()) {
                       if (w->state() != supervisor::Worker::State::Ready) continue;
                       busy += static_cast<double>(w->busy_slots());
                       total += static_cast<double>(w->slots().size());
                     }
                     emit({}, total > 0 ? busy / total : 0);
                 });
  per_app("hearth_worker_restarts_total", "Workers stopped and replaced, by reason.", Type::Counter,
                 {"app", "reason"}, [this](std::size_t, const AppSources& a, const auto& emit) {
                     if (!a.pool) return;
                     std::map<std::string, uint64_t> all{{"crash", 0},        {"timeout", 0},      {"memory", 0},
                                                         {"max_requests", 0}, {"reload", 0},       {"health", 0},
                                                         {"boot_failed", 0},  {"boot_timeout", 0}, {"scale", 0}};
                     for (auto& [k, v] : a.pool->counters().restarts) all[k] = v;
                     for (auto& [k, v] : all) emit({k}, static_cast<double>(v));
                 });
  per_app("hearth_reloads_total", "Rolling reloads by result.", Type::Counter, {"app", "result"}, [this](std::size_t, const AppSources& a, const auto& emit) {
                     if (!a.pool) return;
                     emit({"ok"}, static_cast<double>(a.pool->counters().reloads_ok));
                     emit({"failed"}, static_cast<double>(a.pool->counters().reloads_failed));
                 });
  per_app("hearth_last_reload_duration_seconds", "How long the last successful reload took.", Type::Gauge,
                 {"app"}, [this](std::size_t, const AppSources& a, const auto& emit) {
                     if (a.pool) emit({}, a.pool->counters().last_reload_seconds);
                 });
  per_app("hearth_generation", "The generation (zygote + workers) currently serving.", Type::Gauge, {"app"}, [this](std::size_t, const AppSources& a, const auto& emit) {
                     if (a.pool) emit({}, a.pool->generation());
                 });
  per_app("hearth_worker_memory_bytes",
                 "Per-worker memory from smaps_rollup: rss counts shared pages, pss splits them, uss is private.",
                 Type::Gauge, {"app", "worker", "kind"}, [this](std::size_t ai, const AppSources& a, const auto& emit) {
                     if (!a.pool) return;
                     // The worker label is a slot index (SeriesSlots): a recycled
                     // worker's successor continues its series instead of adding one.
                     std::vector<std::shared_ptr<supervisor::Worker>> live;
                     std::vector<int> ids;
                     for (auto& w : a.pool->workers()) {
                       if (w->state() == supervisor::Worker::State::Dead) continue;
                       live.push_back(w);
                       ids.push_back(w->id());
                     }
                     const std::vector<std::size_t> slots = worker_slots_[ai].update(ids);
                     for (std::size_t i = 0; i < live.size(); ++i) {
                       auto& m = live[i]->memory();
                       if (!m) continue;
                       std::string slot = std::to_string(slots[i]);
                       emit({slot, "rss"}, static_cast<double>(m->rss));
                       emit({slot, "pss"}, static_cast<double>(m->pss));
                       emit({slot, "uss"}, static_cast<double>(m->uss));
                     }
                 });
  per_app("hearth_app_memory_bytes",
                 "The app's memory (zygote + workers): pss is the real total, rss the naive sum.", Type::Gauge,
                 {"app", "kind"}, [this](std::size_t, const AppSources& a, const auto& emit) {
                     if (!a.pool) return;
                     double pss, rss;
                     app_memory(*a.pool, &pss, &rss);
                     emit({"pss"}, pss);
                     emit({"rss"}, rss);
                 });
  per_app("hearth_app_memory_shared_ratio",
                 "1 - total PSS / total RSS: the share of the app's resident pages that copy-on-write saves.",
                 Type::Gauge, {"app"}, [this](std::size_t, const AppSources& a, const auto& emit) {
                     if (!a.pool) return;
                     double pss, rss;
                     app_memory(*a.pool, &pss, &rss);
                     emit({}, rss > 0 ? 1.0 - pss / rss : 0);
                 });
  per_app("hearth_health_checks_total", "Active health checks by result.", Type::Counter, {"app", "result"}, [this](std::size_t, const AppSources& a, const auto& emit) {
                     if (!a.health) return;
                     emit({"ok"}, static_cast<double>(a.health->checks_ok()));
                     emit({"failed"}, static_cast<double>(a.health->checks_failed()));
                 });
  per_app("hearth_health_ejections_total", "Workers ejected by active health checks.", Type::Counter, {"app"}, [this](std::size_t, const AppSources& a, const auto& emit) {
                     if (a.health) emit({}, static_cast<double>(a.health->ejections()));
                 });
  per_app("hearth_warmups_total", "Admissions of new workers (warm-up + health check) by result.", Type::Counter,
                 {"app", "result"}, [this](std::size_t, const AppSources& a, const auto& emit) {
                     if (!a.admission) return;
                     emit({"ok"}, static_cast<double>(a.admission->warmups_ok()));
                     emit({"failed"}, static_cast<double>(a.admission->warmups_failed()));
                 });
  per_app("hearth_keepwarm_pings_total",
                 "Keep-warm requests: internal (through workers) and public (the app's URL).", Type::Counter,
                 {"app", "kind", "result"}, [this](std::size_t, const AppSources& a, const auto& emit) {
                     if (a.keepwarm_internal) {
                       emit({"internal", "ok"}, static_cast<double>(a.keepwarm_internal->pings_ok()));
                       emit({"internal", "failed"}, static_cast<double>(a.keepwarm_internal->pings_failed()));
                     }
                     if (a.keepwarm_public) {
                       emit({"public", "ok"}, static_cast<double>(a.keepwarm_public->ok()));
                       emit({"public", "failed"}, static_cast<double>(a.keepwarm_public->failed()));
                     }
                 });
  callbacks_.add("hearth_build_info", "Build information (always 1).", Type::Gauge, {"version"},
                 [](const Emit& emit) { emit({build::kVersion}, 1); });
}

std::string Telemetry::expose() const { return metrics::expose({&loop_, &reg_, &callbacks_, &process_}); }

}  // namespace hearth::app
