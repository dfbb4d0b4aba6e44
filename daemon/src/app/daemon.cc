#include "app/daemon.h"

#include "app/privileges.h"
#include "app/status_json.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "build_info.h"
#include "common/log.h"
#include "config/bind.h"
#include "config/defaults.h"
#include "control/default_socket.h"
#include "health/pool_access.h"
#include "http/error_pages.h"
#include "tls/server_context.h"

extern char** environ;

namespace hearth::app {

namespace asio = boost::asio;
using std::chrono::milliseconds;

Daemon::Daemon(std::shared_ptr<const config::Config> config)
    : cfg_(std::move(config)),
      environ_(environ_options(*cfg_)),
      temp_dir_(config::effective_temp_dir(cfg_->temp_dir)),
      signals_(io_),
      drain_timer_(io_),
      started_(std::chrono::steady_clock::now()) {}

bool any_keepwarm_url(const config::Config& c) {
  if (!c.keepwarm.url.empty()) return true;
  for (const auto& a : c.apps) {
    if (!a.settings->keepwarm.url.empty()) return true;
  }
  return false;
}

Daemon::~Daemon() {
  if (death_pipe_[0] >= 0) ::close(death_pipe_[0]);
  if (death_pipe_[1] >= 0) ::close(death_pipe_[1]);
  if (upgrade_ready_fd_ >= 0) ::close(upgrade_ready_fd_);
  if (pending_control_fd_ >= 0) ::close(pending_control_fd_);
}

namespace {
// An ASGI worker holds `concurrency` slot sockets in hearthd (docs/asgi.md): warn when the
// workers' sockets, twice over during a rolling reload, may not fit RLIMIT_NOFILE.
void warn_asgi_fd_budget(const config::Config& c) {
  if (c.interface != "asgi") return;
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return;
  uint64_t workers = std::max<uint64_t>(c.workers, c.max_workers);
  uint64_t need = 2 * workers * c.concurrency + 256;
  if (need <= rl.rlim_cur) return;
  HLOG(Warn, "ASGI: " << workers << " worker(s) x concurrency " << c.concurrency << " slot sockets, twice during a "
                      "reload, need about " << need << " file descriptors but RLIMIT_NOFILE is " << rl.rlim_cur
                      << ": raise it (LimitNOFILE= in the systemd unit, ulimit -n) or lower concurrency");
}
}  // namespace

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
  if (int rc = open_process_files(privileges)) return rc;
  if (int rc = check_runtime()) return rc;
  if (int rc = open_front_door()) return rc;
  if (int rc = become_user(privileges)) return rc;
  build_supervision();
  start();

  io_.run();
  // Whatever survived (only after an emergency) is killed; the death pipe closes with us.
  for (AppUnit* a : all_units()) {
    for (pid_t p : a->pids()) ::kill(p, SIGKILL);
  }
  for (upstream::UpstreamUnit* u : all_upstreams()) {
    for (pid_t p : u->pids()) ::kill(-p, SIGKILL);
  }
  return exit_code_;
}

int Daemon::open_process_files(const PrivilegePlan& privileges) {
  const config::Config& c = *cfg_;
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
  return 0;
}

int Daemon::check_runtime() {
  const config::Config& c = *cfg_;
  // The runtime and every app's interpreter must exist before anything listens.
  for (const auto& a : config::apps_of(cfg_)) {
    std::string python = resolve_program(a.settings->python, ::getenv("PATH"));
    if (::access(python.c_str(), X_OK) != 0) {
      std::string who = several_apps() ? " of app " + a.name : "";
      std::fprintf(stderr,
                   "hearthd: python interpreter '%s'%s not found or not executable (set `python` or --python)\n",
                   a.settings->python.c_str(), who.c_str());
      return 1;
    }
    pythons_.push_back(std::move(python));
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
  return 0;
}

int Daemon::open_front_door() {
  const config::Config& c = *cfg_;
  reaper_ = std::make_unique<supervisor::Reaper>(io_, true);
  telemetry_ = std::make_unique<Telemetry>(io_, c);
  if (std::string err = telemetry_->open(); !err.empty()) {
    std::fprintf(stderr, "hearthd: %s\n", err.c_str());
    return 1;
  }
  // One AppUnit per app; the router in front of them unless there is one app
  // on the default route (then its proxy is the chain's app handler: nothing
  // is spent on routing per request).
  if (cfg_->total_memory_budget > 0) ledger_ = std::make_unique<supervisor::MemoryLedger>(cfg_->total_memory_budget);
  for (const auto& a : config::apps_of(cfg_)) apps_.push_back(make_app_unit(a, false));
  // [[upstreams]]: routed next to the apps (rebuild_routes); their requests' metrics carry their name.
  for (const auto& uc : c.upstreams) {
    std::string err;
    auto u = make_upstream_unit(uc, false, &err);
    if (!u) {
      std::fprintf(stderr, "hearthd: %s\n", err.c_str());
      return 2;
    }
    upstreams_.push_back(std::move(u));
  }
  // With upstreams there is always a router (and, with only upstreams, no app).
  http::RequestHandler* app_handler = apps_.empty() ? nullptr : &apps_.front()->proxy();
  const bool routed_app = !apps_.empty() && (!apps_.front()->app().hosts.empty() || !apps_.front()->app().prefix.empty());
  if (several_apps() || !upstreams_.empty() || routed_app) {
    if (std::string err = rebuild_routes(); !err.empty()) {  // the loader checked the same table
      std::fprintf(stderr, "hearthd: apps: %s\n", err.c_str());
      return 2;
    }
    app_handler = router_.get();
  }
  AdminHandler::Probes probes;
  probes.ready = [this] { return ready(); };
  probes.app_ready = [this](std::string_view name) { return app_ready(name); };
  probes.metrics = [this] { return telemetry_->expose(); };
  admin_handler_ = std::make_unique<AdminHandler>(probes, c.metrics_token);

  const std::string& temp_dir = temp_dir_;
  try {
    if (std::string err = build_handler_chain(c, *app_handler, telemetry_.get(), clock_, &chain_); !err.empty()) {
      std::fprintf(stderr, "hearthd: %s\n", err.c_str());
      return 2;
    }
    http_ = std::make_unique<net::HttpServer>(io_, c.http, temp_dir, *chain_.front, "http");
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
        io_, [this](std::string_view cmd, control::Reply reply) { control::handle_command(cmd, *this, reply); });
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
  return 0;
}

int Daemon::become_user(const PrivilegePlan& privileges) {
  const config::Config& c = *cfg_;
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
  if (::access(temp_dir_.c_str(), W_OK | X_OK) != 0)
    HLOG(Warn, "temp_dir " << temp_dir_ << " is not writable (" << strerror(errno)
                           << "); request bodies over body_buffer_size will get 500");
  return 0;
}

void Daemon::build_supervision() {
  // Each app's pool reads the same clock as the dispatchers and the handlers
  // (one clock, wired here). Free slots go straight to the app's dispatcher;
  // once the daemon is Stopping every pool has stopped its workers, so none comes back.
  for (size_t i = 0; i < apps_.size(); ++i) {
    AppUnit& u = *apps_[i];
    u.build_supervision(pythons_[i], app_environment(u.settings(), environ), death_pipe_[0],
                        [this] { on_worker_ready_event(); });
  }
  publish_sources();
}

void Daemon::publish_sources() {
  Telemetry::Sources sources;
  for (const auto& a : apps_) {
    sources.apps.push_back(Telemetry::AppSources{a->name(), a->pool(), &a->dispatcher(), a->admission(), a->health(),
                                                 a->keepwarm_internal(), a->keepwarm_public()});
  }
  sources.http = http_.get();
  sources.rate_limits = chain_.rate_limit.get();
  sources.compression = chain_.compression.get();
  telemetry_->set_sources(std::move(sources));
}

void Daemon::start() {
  signals_.add(SIGTERM);
  signals_.add(SIGINT);
  signals_.add(SIGQUIT);
  signals_.add(SIGHUP);
  signals_.add(SIGUSR1);
  do_wait_signals();

  for (size_t i = 0; i < apps_.size(); ++i) {
    const config::Config& c = apps_[i]->settings();
    std::string route;
    if (several_apps()) {
      const auto& a = apps_[i]->app();
      route = " as app " + a.name + " (";
      for (const auto& h : a.hosts) route += h + " ";
      route += (a.prefix.empty() ? std::string("/") : a.prefix) + ")";
    }
    HLOG(Info, "hearth " << build::kVersion << " serving " << c.app << route << " with " << c.workers
                         << " worker(s) x " << c.threads << " thread(s), " << (c.preload ? "preload" : "lazy")
                         << ", python " << pythons_[i] << ", interface " << c.interface);
    warn_asgi_fd_budget(c);
  }
  for (auto& a : apps_) a->start();
  for (auto& u : upstreams_) u->start();
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
        if (reloads_config()) {
          reload_config([](const control::ReloadOutcome& r) {  // [[apps]]: the file is read again
            if (r.ok) HLOG(Info, "SIGHUP: " << r.message);
            else HLOG(Error, "SIGHUP: " << r.message << (r.detail.empty() ? "" : "\n" + r.detail));
          });
        } else {
          start_reload(nullptr, [](const supervisor::Pool::ReloadResult&) {});  // the pools log the outcome
        }
      }
    } else if (phase_ == Phase::Running) {
      HLOG(Info, "received " << sigabbrev_np(sig) << ": graceful shutdown (graceful_timeout "
                             << cfg_->graceful_timeout.count() << " ms; signal again to stop at once)");
      begin_shutdown(0, true);
    } else {
      HLOG(Warn, "received " << sigabbrev_np(sig) << " again: stopping now");
      for (AppUnit* a : all_units()) {
        for (pid_t p : a->pids()) ::kill(p, SIGKILL);
      }
      for (upstream::UpstreamUnit* u : all_upstreams()) {
        for (pid_t p : u->pids()) ::kill(-p, SIGKILL);
      }
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
  for (auto& a : apps_) a->stop_background();
}

void Daemon::poll_drain() {
  bool idle = !http_ || http_->busy_connections() == 0;
  for (auto& a : apps_) idle = idle && a->dispatcher().queue_length() == 0;
  if (idle || std::chrono::steady_clock::now() >= drain_deadline_) {
    if (!idle) HLOG(Warn, "graceful_timeout reached with requests in flight; stopping workers");
    phase_ = Phase::Stopping;
    // graceful_timeout is the in-flight requests' whole time: when the drain used it
    // up, their workers are killed now rather than given graceful_timeout once more.
    std::optional<milliseconds> grace;
    if (!idle) grace = milliseconds(0);
    shutdown_apps(grace);
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
  for (auto& a : apps_) a->dispatcher().reject_all("shutting down");
  for (upstream::UpstreamUnit* u : all_upstreams()) u->handler().abort_all();  // the same, for requests to upstreams
  if (telemetry_) telemetry_->flush();
  if (http_) http_->close_all();
  if (redirect_) redirect_->close_all();
  if (admin_) admin_->close_all();
  signals_.cancel();
  HLOG(Info, "stopped");
  io_.stop();
}

void Daemon::shutdown_apps(std::optional<milliseconds> grace) {
  // Every pool stops at once; the last one to finish ends the daemon.
  const std::vector<AppUnit*> units = all_units();
  const std::vector<upstream::UpstreamUnit*> ups = all_upstreams();
  auto left = std::make_shared<size_t>(units.size() + ups.size());
  for (AppUnit* a : units) {
    a->shutdown(
        [this, left] {
          if (--*left == 0) finish_shutdown();
        },
        grace);
  }
  for (upstream::UpstreamUnit* u : ups) {
    u->shutdown([this, left] {
      if (--*left == 0) finish_shutdown();
    });
  }
}

void Daemon::on_app_fatal(AppUnit& unit, const std::string& message) {
  std::string m = message;
  while (!m.empty() && m.back() == '\n') m.pop_back();
  HLOG(Error, (several_apps() ? "app " + unit.name() + ": " : std::string()) << m);
  bool any_left = std::any_of(apps_.begin(), apps_.end(),
                              [](const auto& a) { return a->state() == AppUnit::State::Running; });
  if (any_left) {
    // The others keep serving; this app's route answers 503 (AppRouter::Gate::Closed).
    HLOG(Error, "app " << unit.name() << " cannot start; it answers 503 while the other apps serve "
                       "(fix it, then restart hearthd)");
    unit.shutdown(nullptr);
    asio::post(io_, [this] { on_worker_ready_event(); });  // the others may all be ready already
    return;
  }
  HLOG(Error, (several_apps() ? "no app can start; exiting" : "cannot serve the app; exiting"));
  // Exit code 3 is what gunicorn uses when the app fails to load.
  if (phase_ == Phase::Running) {
    exit_code_ = 3;
    phase_ = Phase::Stopping;
    if (notifier_) notifier_->stopping();
    stop_background();
    if (http_) http_->stop_accepting();
    if (redirect_) redirect_->stop_accepting();
    if (control_) control_->close();
    for (auto& a : apps_) a->dispatcher().reject_all("the app failed to load");
    shutdown_apps(std::nullopt);
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
  if (phase_ != Phase::Running || (apps_.empty() && upstreams_.empty())) return false;
  return std::all_of(apps_.begin(), apps_.end(), [](const auto& a) { return a->ready(); }) &&
         std::all_of(upstreams_.begin(), upstreams_.end(), [](const auto& u) { return u->ready(); });
}

bool Daemon::serving() const {
  if (phase_ != Phase::Running) return false;
  bool any = false;
  for (const auto& a : apps_) {
    if (a->state() != AppUnit::State::Running) continue;
    if (!a->ready()) return false;
    any = true;
  }
  for (const auto& u : upstreams_) {
    if (!u->ready()) return false;
    any = true;
  }
  return any;
}

int Daemon::app_ready(std::string_view name) const {
  const AppUnit* u = find_app(name);
  if (!u) {
    const upstream::UpstreamUnit* up = find_upstream(name);
    if (!up) return -1;
    return phase_ == Phase::Running && up->ready() ? 1 : 0;
  }
  return phase_ == Phase::Running && u->ready() ? 1 : 0;
}

upstream::UpstreamUnit* Daemon::find_upstream(std::string_view name) const {
  for (const auto& u : upstreams_) {
    if (u->name() == name) return u.get();
  }
  return nullptr;
}

AppUnit* Daemon::find_app(std::string_view name) const {
  for (const auto& a : apps_) {
    if (a->name() == name) return a.get();
  }
  return nullptr;
}

namespace {
std::string app_names(const std::vector<std::unique_ptr<AppUnit>>& apps,
                      const std::vector<std::shared_ptr<upstream::UpstreamUnit>>& upstreams = {}) {
  std::string out;
  for (const auto& a : apps) out += (out.empty() ? "" : ", ") + a->name();
  for (const auto& u : upstreams) out += (out.empty() ? "" : ", ") + u->name() + " (upstream)";
  return out;
}
const char* state_name(AppUnit::State s) {
  switch (s) {
    case AppUnit::State::Running: return "running";
    case AppUnit::State::Failed: return "failed";
    case AppUnit::State::Stopped: return "stopped";
  }
  return "?";
}
}  // namespace

std::string Daemon::status(std::string_view app) const {
  auto one = [this](const AppUnit& u) {
    StatusContext ctx;
    ctx.version = build::kVersion;
    ctx.pid = ::getpid();
    ctx.app = u.settings().app;
    ctx.preload = u.settings().preload;
    ctx.queue_length = u.dispatcher().queue_length();
    ctx.uptime_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    if (several_apps()) {
      ctx.name = u.name();
      ctx.state = state_name(u.state());
    }
    return status_json(u.pool()->status(), ctx);
  };
  if (!app.empty()) {
    const AppUnit* u = find_app(app);
    if (const upstream::UpstreamUnit* up = u ? nullptr : find_upstream(app)) return ok_document(up->status_json());
    if (!u)
      return control::error_reply("no app named '" + std::string(app) + "' (apps: " + app_names(apps_, upstreams_) +
                                  ")");
    return one(*u);
  }
  if (!several_apps() && upstreams_.empty()) return one(*apps_.front());
  std::vector<std::string> docs;
  for (const auto& a : apps_) docs.push_back(one(*a));
  std::vector<std::string> ups;
  for (const auto& u : upstreams_) ups.push_back(u->status_json());
  return apps_status_json(docs, ups);
}

void Daemon::reload(std::string_view app, std::function<void(const control::ReloadOutcome&)> done) {
  AppUnit* unit = nullptr;
  if (!app.empty() && !(unit = find_app(app))) {
    if (upstream::UpstreamUnit* up = find_upstream(app)) {
      // A command upstream: blue/green (UpstreamUnit::reload).
      return up->reload([done = std::move(done)](const upstream::UpstreamUnit::ReloadResult& r) {
        done(control::ReloadOutcome{r.ok, r.generation, r.seconds, r.message, "", ""});
      });
    }
    control::ReloadOutcome r;
    r.message = "no app named '" + std::string(app) + "' (apps: " + app_names(apps_, upstreams_) + ")";
    return done(r);
  }
  if (unit && unit->state() != AppUnit::State::Running) {
    control::ReloadOutcome r;
    r.message = "app " + unit->name() + " is " + state_name(unit->state()) + " (it failed to start): restart hearthd";
    return done(r);
  }
  // The certificate first (synchronous): a renewed certificate is in use
  // for new connections before the workers are replaced.
  std::string tls_error = reload_tls();
  load_error_pages(false);  // logs the outcome
  if (!unit && reloads_config()) {
    return reload_config([done = std::move(done), tls_error](control::ReloadOutcome r) {
      r.tls_error = tls_error;
      done(r);
    });
  }
  start_reload(unit, [done = std::move(done), tls_error](const supervisor::Pool::ReloadResult& r) {
    done(control::ReloadOutcome{r.ok, r.generation, r.seconds, r.message, r.detail, tls_error});
  });
}

control::ScaleOutcome Daemon::scale(std::string_view app, uint32_t workers) {
  control::ScaleOutcome out;
  AppUnit* unit = nullptr;
  if (!app.empty()) {
    unit = find_app(app);
    if (!unit && find_upstream(app))
      out.error = "'" + std::string(app) + "' is an upstream: hearthd runs one process of it (scale the server itself)";
    else if (!unit)
      out.error = "no app named '" + std::string(app) + "' (apps: " + app_names(apps_) + ")";
  } else if (apps_.empty()) {
    out.error = "no app runs here, only upstreams: hearthd runs one process of each (scale the server itself)";
  } else if (apps_.size() > 1) {
    out.error = "several apps run (" + app_names(apps_) + "): name one, as in `hearthctl scale APP N`";
  } else {
    unit = apps_.front().get();
  }
  if (!unit) return out;
  if (unit->state() != AppUnit::State::Running) {
    out.error = "app " + unit->name() + " is " + state_name(unit->state());
    return out;
  }
  out.error = unit->pool()->scale(workers, &out.capped);
  out.memory_budget = unit->pool()->budget();
  return out;
}

void Daemon::stop() {
  asio::post(io_, [this] { begin_shutdown(0, true); });
}

}  // namespace hearth::app
