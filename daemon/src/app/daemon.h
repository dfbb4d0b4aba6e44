#pragma once
// Wires the daemon together (the one place that builds the real loop, clock,
// spawner and reaper) and runs it until shutdown.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>

#include "app/error_log.h"
#include "app/pid_file.h"
#include "app/admin_handler.h"
#include "app/app_router.h"
#include "app/app_unit.h"
#include "app/daemon_builder.h"
#include "app/systemd_notify.h"
#include "app/upgrade.h"
#include "app/telemetry.h"
#include "common/clock.h"
#include "config/config.h"
#include "config/loader.h"
#include "control/commands.h"
#include "control/control_server.h"
#include "health/admission.h"
#include "health/health_checker.h"
#include "health/internal_keepwarm.h"
#include "health/public_pinger.h"
#include "net/http_server.h"
#include "proxy/dispatcher.h"
#include "proxy/proxy_handler.h"
#include "supervisor/memory_ledger.h"
#include "supervisor/pool.h"
#include "supervisor/reaper.h"
#include "supervisor/spawner.h"
#include "tls/redirect_handler.h"
#include "upstream/upstream_unit.h"

namespace hearth::app {

struct PrivilegePlan;

// True when the top level or any app sets keepwarm.url (the resolver needs a locked scheduler).
bool any_keepwarm_url(const config::Config& c);

// The wiring (which component gets which options) is in daemon_builder.h;
// the control protocol's words and answers in control/commands.h, the status
// document in status_json.h. This class owns the components and the phases.
class Daemon final : private control::Target {
 public:
  // The daemon's own life.
  enum class Phase {
    Running,   // serving
    Draining,  // SIGTERM/SIGINT: listeners closed, in-flight requests finishing
    Stopping,  // workers and zygote being stopped
    Done,      // io loop stopped; exit_code() is final
  };
  explicit Daemon(std::shared_ptr<const config::Config> config);
  ~Daemon();
  // Runs until shutdown; returns the process exit code.
  int run();
  // Where the configuration came from (the command line, the environment):
  // with [[apps]], `hearthctl reload` and SIGHUP read the file again the same
  // way and add, remove or replace apps (daemon_apps.cc).
  void set_config_inputs(config::LoadInputs in) { config_inputs_ = std::move(in); }

 private:
  // run()'s start-up steps, in order. Each returns 0 to go on, else the exit
  // code, its message printed (the start-up regime: fail fast and say why).
  int open_process_files(const PrivilegePlan& privileges);  // umask, name, error log, pid file
  int check_runtime();                     // each app's interpreter and the runtime exist; the death pipe
  int open_front_door();                   // telemetry, apps, router, handlers, listeners, TLS, control socket
  int become_user(const PrivilegePlan& privileges);  // drop root for good once everything is open
  void build_supervision();                // each app's pool, admission, health checks, keep-warm
  void start();                            // signals, then everything starts

  // An app cannot start at all. The single-app form (or the last app still
  // running) exits 3; with others serving, only that app stops (its route answers 503).
  void on_app_fatal(AppUnit& unit, const std::string& message);
  // The app named `name`, or nullptr.
  AppUnit* find_app(std::string_view name) const;
  bool several_apps() const { return apps_.size() > 1 || !cfg_->apps.empty(); }
  void do_wait_signals();
  void begin_shutdown(int exit_code, bool graceful);
  void poll_drain();
  void stop_background();
  // Stops every app's pool; finish_shutdown() once the last one is down.
  void shutdown_apps(std::optional<std::chrono::milliseconds> grace);
  void finish_shutdown();
  // control::Target: what hearthctl's commands do.
  bool accepting_reloads() const override { return phase_ == Phase::Running; }
  std::string status(std::string_view app) const override;
  void reload(std::string_view app, std::function<void(const control::ReloadOutcome&)> done) override;
  control::ScaleOutcome scale(std::string_view app, uint32_t workers) override;
  void upgrade(control::Reply reply) override { begin_upgrade(std::move(reply)); }
  void stop() override;
  // /readyz: every app has ready_min workers ready (a failed app is never ready).
  bool ready() const;
  // The service serves (systemd READY=1, `hearthctl upgrade`): every app still
  // running is ready and at least one runs; an app that failed to start does
  // not hold the others back.
  bool serving() const;
  // /readyz?app=NAME: 1 ready, 0 not, -1 no such app.
  int app_ready(std::string_view name) const;
  // Binds the listeners, or adopts inherited ones (socket activation, upgrade).
  void open_listeners();
  void on_worker_ready_event();
  // daemon_apps.cc: a configuration reload ([[apps]]): reads the file again;
  // new and changed apps start beside the running ones and take their routes
  // once ready; removed and replaced ones drain and stop; the unchanged ones
  // get the usual rolling reload. An invalid file or a new app that cannot
  // start changes nothing.
  struct AppsReload;
  using ReloadDone = std::function<void(const control::ReloadOutcome&)>;
  // With [[apps]] or [[upstreams]] (the single app form without upstreams: a rolling reload).
  bool reloads_config() const {
    return config_inputs_.has_value() && (!cfg_->apps.empty() || !cfg_->upstreams.empty());
  }
  void reload_config(ReloadDone done);
  std::unique_ptr<AppUnit> make_app_unit(const config::AppConfig& a, bool starting);
  // Null with *err set when the entry cannot be served (UpstreamUnit::prepare).
  std::shared_ptr<upstream::UpstreamUnit> make_upstream_unit(const config::UpstreamConfig& uc, bool starting,
                                                             std::string* err);
  void apps_reload_progress();
  void abandon_apps_reload(const std::string& why);
  void commit_apps_reload();
  // A removed or replaced app: serves its queue, then stops (by `deadline`).
  void drain_retired(AppUnit& u, TimePoint deadline);
  // A removed or replaced upstream: its requests in flight end (by `deadline`), then it stops.
  void drain_retired(const std::shared_ptr<upstream::UpstreamUnit>& u, TimePoint deadline);
  std::string rebuild_routes();  // the router (made, or its routes replaced) from apps_: "" or the table's errors
  void publish_sources();        // the apps' components to the telemetry
  // Every unit, also those starting in a reload and those retired by one.
  std::vector<AppUnit*> all_units() const;
  std::vector<upstream::UpstreamUnit*> all_upstreams() const;  // the same for upstreams
  // Reloads one app (or, with `unit` null, every app one after the other).
  void start_reload(AppUnit* unit, supervisor::Pool::ReloadCallback cb);
  // Rolling reloads of `units` (those running), one after the other.
  void reload_units(std::vector<AppUnit*> units, supervisor::Pool::ReloadCallback cb);
  void begin_upgrade(control::ControlServer::Reply reply);
  void hand_over(pid_t new_pid);
  std::string service_status() const;
  // Re-reads certfile/keyfile into a new TLS context for new connections;
  // "" on success (or without TLS), else the error (the old context stays).
  std::string reload_tls();
  // [[error_page]] files read again (start-up: `initial`, and on reload); "" or
  // what could not be read (a reload then keeps the previous pages).
  std::string load_error_pages(bool initial);

  std::shared_ptr<const config::Config> cfg_;
  // One thread runs everything (STYLE.md 3), so Asio takes no locks: neither
  // the scheduler's nor each descriptor's. Asio's resolver completes from a
  // thread of its own (and refuses to run under the unlocked scheduler): with
  // a keepwarm.url to resolve, the scheduler keeps its lock. Declared after
  // cfg_, which picks the hint.
  boost::asio::io_context io_{any_keepwarm_url(*cfg_) ? BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO
                                                     : BOOST_ASIO_CONCURRENCY_HINT_UNSAFE};
  SteadyClock clock_;
  const proxy::EnvironOptions environ_;  // for the proxy, warm-up, health checks, keep-warm
  const std::string temp_dir_;           // config::effective_temp_dir(temp_dir)
  supervisor::PosixSpawner spawner_{io_};
  std::unique_ptr<supervisor::Reaper> reaper_;
  std::unique_ptr<Telemetry> telemetry_;
  ErrorLog error_log_;
  PidFile pid_file_;
  // Every app (one for the single-app form), in config order; and the router
  // in front of them when there are several (or one with a route).
  // total_memory_budget: shared by the apps' pools (declared first: it outlives them).
  std::unique_ptr<supervisor::MemoryLedger> ledger_;
  std::vector<std::unique_ptr<AppUnit>> apps_;
  std::vector<std::string> pythons_;  // each app's interpreter, resolved
  std::optional<config::LoadInputs> config_inputs_;
  std::shared_ptr<AppsReload> apps_reload_;             // a configuration reload in progress, or null
  std::vector<std::unique_ptr<AppUnit>> retired_apps_;  // removed or replaced by one: stopping or stopped
  std::unique_ptr<AppRouter> router_;
  // [[upstreams]], in config order (routed by router_ next to the apps).
  std::vector<std::shared_ptr<upstream::UpstreamUnit>> upstreams_;
  std::vector<std::shared_ptr<upstream::UpstreamUnit>> retired_upstreams_;  // by a configuration reload
  upstream::UpstreamUnit* find_upstream(std::string_view name) const;
  std::unique_ptr<AdminHandler> admin_handler_;
  std::unique_ptr<net::HttpServer> http_;
  std::unique_ptr<net::HttpServer> admin_;
  HandlerChain chain_;  // [compression], [[static]], [[rate_limit]], HSTS: in front of the proxy
  std::unique_ptr<tls::RedirectHandler> redirect_handler_;  // tls.redirect_http_from
  std::unique_ptr<net::HttpServer> redirect_;
  std::unique_ptr<control::ControlServer> control_;
  SdNotifyTransport notify_transport_;
  std::unique_ptr<ServiceNotifier> notifier_;
  std::unique_ptr<BinaryUpgrade> upgrade_;
  std::string self_exe_;                 // for `hearthctl upgrade`
  std::vector<std::string> self_argv_;
  bool upgrading_from_parent_ = false;   // started by `hearthctl upgrade`: accept once ready
  int upgrade_ready_fd_ = -1;            // tell the old hearthd we serve (then closed)
  int pending_control_fd_ = -1;          // inherited control socket, served once ready
  std::string pending_control_path_;
  bool handed_over_ = false;             // this (old) daemon gave its sockets to a new one
  boost::asio::signal_set signals_;
  boost::asio::steady_timer drain_timer_;
  std::chrono::steady_clock::time_point drain_deadline_{};
  int death_pipe_[2] = {-1, -1};
  Phase phase_ = Phase::Running;
  int exit_code_ = 0;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace hearth::app
