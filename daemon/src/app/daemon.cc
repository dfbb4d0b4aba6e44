#include "app/daemon.h"

#include "app/privileges.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cstring>
#include <map>
#include <sstream>
#include <stdexcept>

#include "build_info.h"
#include "common/log.h"
#include "config/bind.h"
#include "control/default_socket.h"
#include "health/pool_access.h"
#include "http/error_pages.h"
#include "supervisor/protocol.h"
#include "tls/server_context.h"

extern char** environ;

namespace hearth::app {

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

// execve needs a path: resolve a bare "python3" through $PATH.
std::string resolve_program(const std::string& prog) {
  if (prog.find('/') != std::string::npos) return prog;
  const char* path = ::getenv("PATH");
  std::stringstream ss(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    std::string cand = (dir.empty() ? "." : dir) + "/" + prog;
    if (::access(cand.c_str(), X_OK) == 0) return cand;
  }
  return prog;
}

}  // namespace

Daemon::Daemon(std::shared_ptr<const config::Config> config)
    : cfg_(std::move(config)),
      dispatcher_(io_, clock_, cfg_->max_queue, cfg_->queue_timeout),
      signals_(io_),
      drain_timer_(io_),
      started_(std::chrono::steady_clock::now()) {
  dispatcher_.set_retry_methods(cfg_->retry_methods);
}

Daemon::~Daemon() {
  if (death_pipe_[0] >= 0) ::close(death_pipe_[0]);
  if (death_pipe_[1] >= 0) ::close(death_pipe_[1]);
  if (upgrade_ready_fd_ >= 0) ::close(upgrade_ready_fd_);
  if (pending_control_fd_ >= 0) ::close(pending_control_fd_);
}

std::string Daemon::build_environment(std::vector<std::string>* env) const {
  std::map<std::string, std::string> vars;
  for (char** e = environ; e && *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string::npos) continue;
    vars[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  // The service manager talks to hearthd, not to the app.
  for (const char* k : {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"}) vars.erase(k);
  for (auto& [k, v] : cfg_->env) vars[k] = v;
  vars["HEARTH_PRELOAD"] = cfg_->preload ? "1" : "0";
  vars["HEARTH_WORKER_ID"] = "zygote";
  if (!cfg_->proc_name.empty()) vars["HEARTH_PROC_NAME"] = cfg_->proc_name;  // the runtime names its processes
  vars["SERVER_SOFTWARE"] = std::string("hearth/") + build::kVersion;
  vars.emplace("PYTHONUNBUFFERED", "1");
  for (auto& [k, v] : vars) env->push_back(k + "=" + v);
  return {};
}

int Daemon::run() {
  const config::Config& c = *cfg_;
  log::Level level;
  if (log::parse_level(c.log.level, &level)) log::set_threshold(level);
  ::signal(SIGPIPE, SIG_IGN);
  self_exe_ = self_exe_path();  // before anything replaces the file: `hearthctl upgrade` execs it
  self_argv_ = self_argv();

  // Who the app will run as is settled before anything is bound.
  PrivilegePlan privileges = plan_privileges(::geteuid(), ::getegid(), c, system_accounts());
  if (privileges.kind == PrivilegePlan::Kind::Refuse) {
    std::fprintf(stderr, "hearthd: %s; not starting\n", privileges.error.c_str());
    return 2;
  }
  // Process settings the app inherits, then the files opened while still privileged.
  if (c.umask >= 0) ::umask(static_cast<mode_t>(c.umask));
  if (!c.proc_name.empty()) ::prctl(PR_SET_NAME, c.proc_name.c_str(), 0, 0, 0);
  if (std::string err = error_log_.open(c.log.error_log); !err.empty()) {
    std::fprintf(stderr, "hearthd: %s\n", err.c_str());
    return 1;
  }
  if (std::string err = pid_file_.write(c.pid_file); !err.empty()) {
    std::fprintf(stderr, "hearthd: %s\n", err.c_str());
    return 1;
  }
  if (!privileges.warning.empty()) HLOG(Warn, privileges.warning);

  // The runtime and the interpreter must exist before anything listens.
  std::string python = resolve_program(c.python);
  if (::access(python.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "hearthd: python interpreter '%s' not found or not executable (set `python` or --python)\n",
                 c.python.c_str());
    return 1;
  }
  std::string zygote_script = c.runtime_dir + "/hearth_zygote.py";
  if (::access(zygote_script.c_str(), R_OK) != 0) {
    std::fprintf(stderr, "hearthd: the Python runtime is missing: %s (set HEARTH_RUNTIME_DIR)\n",
                 zygote_script.c_str());
    return 1;
  }
  // The death pipe: children hold the read end; EOF means we are gone.
  if (::pipe2(death_pipe_, O_CLOEXEC) != 0) {
    std::fprintf(stderr, "hearthd: pipe: %s\n", strerror(errno));
    return 1;
  }

  reaper_ = std::make_unique<supervisor::Reaper>(io_, true);

  proxy::EnvironOptions eo;
  eo.forwarded_allow_ips = c.forwarded_allow_ips;
  eo.server_software = std::string("hearth/") + build::kVersion;
  telemetry_ = std::make_unique<Telemetry>(io_, c);
  if (std::string err = telemetry_->open(); !err.empty()) {
    std::fprintf(stderr, "hearthd: %s\n", err.c_str());
    return 1;
  }
  proxy_ = std::make_unique<proxy::ProxyHandler>(dispatcher_, eo, telemetry_.get(), &clock_);
  proxy_->set_via(c.http.via);
  AdminHandler::Probes probes;
  probes.ready = [this] { return ready(); };
  probes.metrics = [this] { return telemetry_->expose(); };
  admin_handler_ = std::make_unique<AdminHandler>(probes, c.metrics_token);

  std::string temp_dir = c.temp_dir;
  if (temp_dir.empty()) {
    const char* t = ::getenv("TMPDIR");
    temp_dir = (t && *t) ? t : "/tmp";
  }
  try {
    http::RequestHandler* front = proxy_.get();
    if (c.compression.enabled) {
      compression_ = std::make_unique<frontdoor::CompressionHandler>(c.compression, *front);
      front = compression_.get();
    }
    if (!c.statics.empty()) {
      std::vector<statics::StaticHandler::Mount> mounts;
      if (std::string err = statics::StaticHandler::prepare(c, &mounts); !err.empty()) {
        std::fprintf(stderr, "hearthd: %s\n", err.c_str());
        return 2;
      }
      for (const auto& m : mounts) HLOG(Info, "static: " << m.config.prefix << " -> " << m.root);
      static_ = std::make_unique<statics::StaticHandler>(std::move(mounts), *front, telemetry_.get(), clock_);
      front = static_.get();
    }
    if (!c.rate_limits.empty()) {
      rate_limit_ = std::make_unique<frontdoor::RateLimitHandler>(c, *front, telemetry_.get(), clock_);
      front = rate_limit_.get();
    }
    if (c.tls.enabled() && c.tls.hsts_max_age.count() > 0) {
      hsts_ = std::make_unique<tls::HstsHandler>(*front, c.tls.hsts_max_age);
      front = hsts_.get();
    }
    http_ = std::make_unique<net::HttpServer>(io_, c.http, temp_dir, *front, "http");
    if (c.proxy_protocol) http_->set_proxy_protocol(c.proxy_allow_ips);
    if (std::string err = load_error_pages(true); !err.empty()) {
      std::fprintf(stderr, "hearthd: %s\n", err.c_str());
      return 2;
    }
    if (c.tls.enabled()) {
      auto t = tls::make_server_context(c.tls, c.http.h2_enabled);
      if (!t.context) {
        std::fprintf(stderr, "hearthd: %s\n", t.error.c_str());
        return 2;
      }
      HLOG(Info, "TLS certificate: " << t.description);
      if (t.expired) HLOG(Warn, "the TLS certificate has expired; clients will refuse it");
      http_->set_tls_context(std::move(t.context));
    }
    if (c.admin_bind)
      admin_ = std::make_unique<net::HttpServer>(io_, c.http, temp_dir, *admin_handler_, "admin");
    control_ = std::make_unique<control::ControlServer>(
        io_, [this](std::string_view cmd, control::ControlServer::Reply reply) { handle_control(cmd, reply); });
    open_listeners();
    if (!c.tls.redirect_http_from.empty()) {
      redirect_handler_ = std::make_unique<tls::RedirectHandler>();
      redirect_handler_->set_https_port(http_->first_tls_port());
      redirect_ = std::make_unique<net::HttpServer>(io_, c.http, temp_dir, *redirect_handler_, "redirect");
      for (auto& b : c.tls.redirect_http_from) redirect_->listen(b);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hearthd: %s\n", e.what());
    return 1;
  }
  if (c.admin_bind && c.metrics_token.empty() && !config::is_loopback(*c.admin_bind))
    HLOG(Warn, "admin_bind " << config::to_string(*c.admin_bind)
                             << " is reachable beyond this host and /metrics is open; set metrics_token");

  // Everything that needs root is open: become `user` for good. The zygote and
  // the workers are spawned after this, so they inherit the identity.
  if (privileges.kind == PrivilegePlan::Kind::Drop) {
    if (!control_->path().empty() &&
        ::chown(control_->path().c_str(), privileges.uid, privileges.gid) != 0)
      HLOG(Warn, "chown " << control_->path() << ": " << strerror(errno));
    if (std::string err = drop_privileges(privileges); !err.empty()) {
      std::fprintf(stderr, "hearthd: dropping privileges to user '%s': %s\n", c.user.c_str(), err.c_str());
      return 1;
    }
    HLOG(Info, "running as user " << privileges.user << " (uid " << privileges.uid << ", gid " << privileges.gid
                                  << ")");
  }
  if (::access(temp_dir.c_str(), W_OK | X_OK) != 0)
    HLOG(Warn, "temp_dir " << temp_dir << " is not writable (" << strerror(errno)
                           << "); request bodies over body_buffer_size will get 500");

  supervisor::Pool::Options po;
  po.zygote.python = python;
  po.zygote.runtime_dir = c.runtime_dir;
  po.zygote.app = c.app;
  po.zygote.preload = c.preload;
  po.zygote.chdir = c.chdir;
  po.zygote.pythonpath = c.pythonpath;
  build_environment(&po.zygote.env);
  po.zygote.threads = c.threads;
  po.zygote.generation = 1;
  po.zygote.death_pipe_read_fd = death_pipe_[0];
  po.zygote.capture_output = c.log.capture_output;
  po.zygote.hook_pre_fork = c.hooks.pre_fork;
  po.zygote.hook_post_fork = c.hooks.post_fork;
  po.zygote.hook_worker_exit = c.hooks.worker_exit;
  po.workers = c.workers;
  po.request_timeout = c.timeout;
  po.boot_timeout = c.boot_timeout;
  po.graceful_timeout = c.graceful_timeout;
  po.max_requests = c.max_requests;
  po.max_requests_jitter = c.max_requests_jitter;
  po.max_worker_memory = c.max_worker_memory;
  po.memory_budget = c.memory_budget;
  po.min_workers = c.min_workers;
  po.max_workers = c.max_workers;
  po.idle_timeout = c.idle_timeout;
  po.memory_interval = c.memory_interval;
  po.max_consecutive_failures = c.health.max_consecutive_failures;
  pool_ = std::make_unique<supervisor::Pool>(io_, spawner_, *reaper_, po, static_cast<supervisor::Pool::Listener&>(*this));
  pool_->set_queue_probe([this] { return dispatcher_.queue_length(); });
  if (!c.warmup.requests.empty() || !c.health.path.empty()) {
    admission_ = std::make_unique<health::Admission>(io_, cfg_, eo);
    pool_->set_admission([this](std::shared_ptr<supervisor::Worker> w, std::function<void(bool, std::string)> done) {
      admission_->admit(health::admission_target(w), std::move(done));
    });
  }
  health_ = std::make_unique<health::HealthChecker>(io_, c.health, eo, health::pool_workers(*pool_),
                                                    health::dispatcher_slots(dispatcher_));
  {
    // Keep-warm uses the first warm-up request, else the health path, else "/".
    config::WarmupRequest kw;
    if (!c.warmup.requests.empty()) kw = c.warmup.requests.front();
    else if (!c.health.path.empty()) kw.path = c.health.path;
    keepwarm_internal_ = std::make_unique<health::InternalKeepwarm>(
        io_, c.keepwarm.internal_interval, kw, eo, c.timeout, health::pool_workers(*pool_),
        health::dispatcher_slots(dispatcher_),
        [this] { return proxy_->last_request(); });
  }
  keepwarm_public_ = std::make_unique<health::PublicPinger>(io_, c.keepwarm.url, c.keepwarm.interval,
                                                            c.keepwarm.jitter, c.keepwarm.timeout);
  pool_->set_ready_hook([this](const supervisor::Worker& w) {
    telemetry_->on_worker_ready(w);
    asio::post(io_, [this] { on_worker_ready_event(); });
  });
  telemetry_->set_sources(Telemetry::Sources{pool_.get(), &dispatcher_, admission_.get(), health_.get(),
                                             keepwarm_internal_.get(), keepwarm_public_.get(), http_.get(),
                                             rate_limit_.get(), compression_.get()});

  signals_.add(SIGTERM);
  signals_.add(SIGINT);
  signals_.add(SIGQUIT);
  signals_.add(SIGHUP);
  signals_.add(SIGUSR1);
  do_wait_signals();

  HLOG(Info, "hearth " << build::kVersion << " serving " << c.app << " with " << c.workers << " worker(s) x "
                       << c.threads << " thread(s), " << (c.preload ? "preload" : "lazy") << ", python "
                       << python);
  pool_->start();
  health_->start();
  keepwarm_internal_->start();
  keepwarm_public_->start();
  notifier_ = std::make_unique<ServiceNotifier>(io_, notify_transport_, [this] { return service_status(); });
  notifier_->start();
  upgrade_ = std::make_unique<BinaryUpgrade>(io_, spawner_, *reaper_);
  if (!upgrading_from_parent_) {
    // A new daemon started by `hearthctl upgrade` accepts only once its
    // workers are ready: until then the old one serves the shared sockets.
    http_->start();
    if (redirect_) redirect_->start();
    if (admin_) admin_->start();
  }

  io_.run();
  // Whatever survived (only after an emergency) is killed; the death pipe closes with us.
  if (pool_) {
    for (pid_t p : pool_->pids()) ::kill(p, SIGKILL);
  }
  return exit_code_;
}

void Daemon::do_wait_signals() {
  signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    if (sig == SIGUSR1) {
      HLOG(Info, "SIGUSR1: reopening the access log" << (error_log_.is_file() ? " and the error log" : ""));
      telemetry_->reopen_logs();
      if (std::string err = error_log_.reopen(); !err.empty()) {
        HLOG(Warn, "cannot reopen " << err << "; still writing to the old file (the log directory must be "
                                     "writable by the user hearthd runs as)");
      }
    } else if (sig == SIGHUP) {
      if (phase_ == Phase::Running) {
        HLOG(Info, "SIGHUP: rolling reload");
        reload_tls();  // logs the outcome
        load_error_pages(false);
        start_reload([](const supervisor::Pool::ReloadResult&) {});  // the pool logs the outcome
      }
    } else if (phase_ == Phase::Running) {
      HLOG(Info, "received " << sigabbrev_np(sig) << ": graceful shutdown (graceful_timeout "
                             << cfg_->graceful_timeout.count() << " ms; signal again to stop at once)");
      begin_shutdown(0, true);
    } else {
      HLOG(Warn, "received " << sigabbrev_np(sig) << " again: stopping now");
      for (pid_t p : pool_->pids()) ::kill(p, SIGKILL);
      if (http_) http_->close_all();
      if (redirect_) redirect_->close_all();
      if (admin_) admin_->close_all();
      exit_code_ = exit_code_ ? exit_code_ : 1;
      io_.stop();
      return;
    }
    do_wait_signals();
  });
}

void Daemon::begin_shutdown(int exit_code, bool graceful) {
  if (phase_ != Phase::Running) return;
  exit_code_ = exit_code;
  phase_ = Phase::Draining;
  if (notifier_) notifier_->stopping();
  stop_background();
  if (http_) {
    http_->stop_accepting();
    http_->close_idle();
  }
  if (redirect_) {
    redirect_->stop_accepting();
    redirect_->close_idle();
  }
  if (control_) control_->close();
  drain_deadline_ = std::chrono::steady_clock::now() + (graceful ? cfg_->graceful_timeout : milliseconds(0));
  poll_drain();
}

void Daemon::stop_background() {
  if (health_) health_->stop();
  if (keepwarm_internal_) keepwarm_internal_->stop();
  if (keepwarm_public_) keepwarm_public_->stop();
}

void Daemon::poll_drain() {
  bool idle = (!http_ || http_->busy_connections() == 0) && dispatcher_.queue_length() == 0;
  if (idle || std::chrono::steady_clock::now() >= drain_deadline_) {
    if (!idle) HLOG(Warn, "graceful_timeout reached with requests in flight; stopping workers");
    dispatcher_.reject_all("shutting down");
    phase_ = Phase::Stopping;
    // graceful_timeout is the in-flight requests' whole time: when the drain used it
    // up, their workers are killed now rather than given graceful_timeout once more.
    if (idle) pool_->shutdown([this] { finish_shutdown(); });
    else pool_->shutdown([this] { finish_shutdown(); }, milliseconds(0));
    return;
  }
  drain_timer_.expires_after(milliseconds(20));
  drain_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) poll_drain();
  });
}

void Daemon::finish_shutdown() {
  phase_ = Phase::Done;
  // A GET whose worker was stopped at graceful_timeout is retried into the
  // queue while the pool shuts down; answer it now, while telemetry_ (which
  // its sink reports to) is alive. Left queued, it was destroyed after
  // telemetry_ in ~Daemon: a heap-use-after-free found by make test-sanitize.
  dispatcher_.reject_all("shutting down");
  if (telemetry_) telemetry_->flush();
  if (http_) http_->close_all();
  if (redirect_) redirect_->close_all();
  if (admin_) admin_->close_all();
  signals_.cancel();
  HLOG(Info, "stopped");
  io_.stop();
}

void Daemon::on_slot_free(std::shared_ptr<supervisor::WorkerSlot> slot) {
  if (phase_ == Phase::Stopping || phase_ == Phase::Done) return;
  dispatcher_.on_slot_free(std::move(slot));
}

void Daemon::on_fatal(const std::string& message) {
  std::string m = message;
  while (!m.empty() && m.back() == '\n') m.pop_back();
  HLOG(Error, m);
  HLOG(Error, "cannot serve the app; exiting");
  // Exit code 3 is what gunicorn uses when the app fails to load.
  if (phase_ == Phase::Running) {
    exit_code_ = 3;
    phase_ = Phase::Stopping;
    if (notifier_) notifier_->stopping();
    stop_background();
    if (http_) http_->stop_accepting();
    if (redirect_) redirect_->stop_accepting();
    if (control_) control_->close();
    dispatcher_.reject_all("the app failed to load");
    pool_->shutdown([this] { finish_shutdown(); });
  }
}

std::string Daemon::load_error_pages(bool initial) {
  if (cfg_->error_pages.empty() || !http_) return "";
  std::string err;
  auto pages = http::ErrorPages::load(*cfg_, &err);
  if (!pages) {
    if (!initial) HLOG(Error, "error pages not reloaded, still serving the previous ones: " << err);
    return err;
  }
  HLOG(Info, (initial ? "error pages: " : "error pages reloaded: ") << pages->files() << " file(s)");
  http_->set_error_pages(std::make_shared<const http::ErrorPages>(std::move(*pages)));
  return "";
}

std::string Daemon::reload_tls() {
  if (!cfg_->tls.enabled() || !http_) return "";
  auto t = tls::make_server_context(cfg_->tls, cfg_->http.h2_enabled);
  if (!t.context) {
    HLOG(Error, "TLS certificate reload failed, still serving the previous certificate: " << t.error);
    return t.error;
  }
  HLOG(Info, "TLS certificate reloaded for new connections: " << t.description);
  if (t.expired) HLOG(Warn, "the reloaded TLS certificate has expired; clients will refuse it");
  http_->set_tls_context(std::move(t.context));
  return "";
}

bool Daemon::ready() const {
  return phase_ == Phase::Running && pool_ && pool_->ready_workers() >= std::max<uint32_t>(cfg_->ready_min, 1);
}

std::string Daemon::status_json() const {
  using supervisor::json_escape;
  auto st = pool_->status();
  std::ostringstream o;
  o << "{\"ok\":true,\"version\":\"" << build::kVersion << "\",\"pid\":" << ::getpid() << ",\"app\":\""
    << json_escape(cfg_->app) << "\",\"phase\":\"" << st.phase << "\",\"generation\":" << st.generation
    << ",\"zygote\":{\"pid\":" << st.zygote_pid << ",\"state\":\"" << st.zygote_state << "\"}"
    << ",\"preload\":" << (cfg_->preload ? "true" : "false") << ",\"desired_workers\":" << st.desired
    << ",\"ready_workers\":" << st.ready << ",\"restarts\":" << st.restarts
    << ",\"crash_loop\":" << (st.crash_loop ? "true" : "false") << ",\"queue_length\":" << dispatcher_.queue_length()
    << ",\"uptime_s\":"
    << std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count() << ",\"workers\":[";
  uint64_t total_pss = 0, total_uss = 0, total_rss = 0;
  bool first = true;
  for (auto& w : st.workers) {
    if (!first) o << ',';
    first = false;
    o << "{\"id\":" << w.id << ",\"pid\":" << w.pid << ",\"generation\":" << w.generation << ",\"state\":\""
      << w.state << "\",\"requests\":" << w.requests << ",\"age_s\":" << w.age_s << ",\"boot_ms\":" << w.boot_ms
      << ",\"warmup_ms\":" << w.warmup_ms << ",\"busy_slots\":" << w.busy_slots << ",\"slots\":" << w.slots
      << ",\"current_request\":\"" << json_escape(w.current_request) << "\",\"current_ms\":" << w.current_ms
      << ",\"recycle\":\"" << w.recycle << "\",\"in_flight\":[";
    for (size_t i = 0; i < w.in_flight.size(); ++i) {
      o << (i ? "," : "") << "{\"request\":\"" << json_escape(w.in_flight[i].request)
        << "\",\"ms\":" << w.in_flight[i].ms << "}";
    }
    o << "]";
    if (w.memory) {
      o << ",\"rss_bytes\":" << w.memory->rss << ",\"pss_bytes\":" << w.memory->pss << ",\"uss_bytes\":"
        << w.memory->uss;
      total_pss += w.memory->pss;
      total_uss += w.memory->uss;
      total_rss += w.memory->rss;
    }
    o << "}";
  }
  o << "]";
  if (st.zygote_memory) {
    o << ",\"zygote_memory\":{\"rss_bytes\":" << st.zygote_memory->rss << ",\"pss_bytes\":" << st.zygote_memory->pss
      << ",\"uss_bytes\":" << st.zygote_memory->uss << "}";
    total_pss += st.zygote_memory->pss;
    total_rss += st.zygote_memory->rss;
  }
  // The app's real total is the sum of PSS; summing RSS counts shared pages once per process.
  o << ",\"memory\":{\"total_pss_bytes\":" << total_pss << ",\"total_rss_bytes\":" << total_rss
    << ",\"workers_uss_bytes\":" << total_uss << "}";
  o << ",\"reload\":\"" << st.reload << "\",\"effective_workers\":" << st.effective;
  if (st.budget_cap) o << ",\"memory_budget_cap\":" << *st.budget_cap;
  if (st.memory_budget > 0) {
    o << ",\"memory_budget_bytes\":" << st.memory_budget << ",\"app_pss_bytes\":" << st.app_pss
      << ",\"memory_budget_exceeded\":" << (st.budget_unmet ? "true" : "false");
  }
  o << "}";
  return o.str();
}

void Daemon::handle_control(std::string_view command, control::ControlServer::Reply reply) {
  std::string cmd(command);
  while (!cmd.empty() && (cmd.back() == '\r' || cmd.back() == ' ')) cmd.pop_back();
  if (cmd == "status") {
    reply(status_json());
  } else if (cmd == "reload") {
    if (phase_ != Phase::Running) {
      reply("{\"ok\":false,\"error\":\"the daemon is shutting down\"}");
      return;
    }
    // The certificate first (synchronous): a renewed certificate is in use
    // for new connections before the workers are replaced.
    std::string tls_error = reload_tls();
    load_error_pages(false);  // logs the outcome
    start_reload([reply, tls_error](const supervisor::Pool::ReloadResult& r) {
      using supervisor::json_escape;
      const bool ok = r.ok && tls_error.empty();
      std::string message = r.message;
      if (!tls_error.empty()) {
        message = "TLS certificate reload failed, still serving the previous certificate: " + tls_error +
                  "; app reload: " + r.message;
      }
      std::string out = std::string("{\"ok\":") + (ok ? "true" : "false") + ",\"generation\":" +
                        std::to_string(r.generation) + ",\"seconds\":" + std::to_string(r.seconds) +
                        (ok ? ",\"message\":\"" : ",\"error\":\"") + json_escape(message) + "\"";
      if (!tls_error.empty()) out += ",\"tls_error\":\"" + json_escape(tls_error) + "\"";
      if (!r.detail.empty()) out += ",\"traceback\":\"" + json_escape(r.detail) + "\"";
      out += "}";
      reply(out);
    });
  } else if (cmd.rfind("scale ", 0) == 0) {
    char* end = nullptr;
    long n = std::strtol(cmd.c_str() + 6, &end, 10);
    if (!end || *end != '\0' || n < 1 || n > 10000) {
      reply("{\"ok\":false,\"error\":\"scale needs a worker count from 1 to 10000\"}");
      return;
    }
    std::optional<uint32_t> capped;
    std::string err = pool_->scale(static_cast<uint32_t>(n), &capped);
    if (err.empty() && capped)
      reply("{\"ok\":true,\"capped\":" + std::to_string(*capped) + ",\"message\":\"asked for " +
            std::to_string(n) + " worker(s); capped to " + std::to_string(*capped) + " by memory_budget (" +
            std::to_string(cfg_->memory_budget >> 20) + " MiB)\"}");
    else if (err.empty())
      reply("{\"ok\":true,\"message\":\"scaling to " + std::to_string(n) + " worker(s)\"}");
    else
      reply("{\"ok\":false,\"error\":\"" + supervisor::json_escape(err) + "\"}");
  } else if (cmd == "upgrade") {
    begin_upgrade(reply);
  } else if (cmd == "stop") {
    reply("{\"ok\":true,\"message\":\"graceful shutdown started\"}");
    asio::post(io_, [this] { begin_shutdown(0, true); });
  } else {
    reply("{\"ok\":false,\"error\":\"unknown command: " + supervisor::json_escape(cmd) + "\"}");
  }
}

}  // namespace hearth::app
