#pragma once
// One app behind the daemon (the single-app form, or one [[apps]] entry):
// its queue (Dispatcher), its front-door handler (ProxyHandler), its pool
// (zygote + workers), warm-up admission, health checks and keep-warm. Apps
// share nothing but the loop, the clock, the spawner, the reaper and the
// telemetry, so one app's crash loop, failed import or reload never touches
// another's workers or requests.
//
// Lifetimes: the Daemon owns every AppUnit and outlives them; an AppUnit owns
// its components. The dispatcher and the proxy exist from construction (the
// front door is built before privileges are dropped); the pool and the
// health components from build_supervision() on.
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>

#include "common/clock.h"
#include "config/config.h"
#include "health/admission.h"
#include "health/health_checker.h"
#include "health/internal_keepwarm.h"
#include "health/public_pinger.h"
#include "proxy/dispatcher.h"
#include "proxy/environ.h"
#include "proxy/proxy_handler.h"
#include "supervisor/pool.h"
#include "supervisor/reaper.h"
#include "supervisor/spawner.h"

namespace hearth::app {

class Telemetry;

class AppUnit final : private supervisor::Pool::Listener {
 public:
  // The app's life as the daemon sees it.
  enum class State {
    Running,  // its pool runs (starting, serving or reloading)
    Failed,   // could not start (import error at start-up): its route answers 503; stopped
    Stopped,  // shut down with the daemon
  };
  struct Shared {
    boost::asio::io_context& io;
    const ClockSource& clock;
    supervisor::Spawner& spawner;
    supervisor::Reaper& reaper;
    Telemetry* telemetry = nullptr;
    proxy::EnvironOptions environ;  // the daemon-wide part (script_name is set per app)
    bool name_in_logs = false;      // several apps: zygote and worker log lines carry the app's name
    proxy::RequestObserver* observer = nullptr;  // the app's requests (Telemetry::app_observer)
    supervisor::MemoryLedger* ledger = nullptr;  // total_memory_budget, shared by every app; null = none
  };
  // `on_fatal(unit, message)`: the app cannot start at all.
  using FatalFn = std::function<void(AppUnit&, const std::string&)>;

  AppUnit(Shared shared, config::AppConfig app, FatalFn on_fatal);
  ~AppUnit() override;

  const std::string& name() const { return app_.name; }
  const config::AppConfig& app() const { return app_; }
  // A configuration reload changed only the app's hosts (its route).
  void set_hosts(std::vector<std::string> hosts) { app_.hosts = std::move(hosts); }
  const config::Config& settings() const { return *app_.settings; }
  State state() const { return state_; }
  proxy::ProxyHandler& proxy() { return *proxy_; }
  proxy::Dispatcher& dispatcher() { return dispatcher_; }
  const proxy::Dispatcher& dispatcher() const { return dispatcher_; }
  supervisor::Pool* pool() { return pool_.get(); }
  const supervisor::Pool* pool() const { return pool_.get(); }
  const health::Admission* admission() const { return admission_.get(); }
  const health::HealthChecker* health() const { return health_.get(); }
  const health::InternalKeepwarm* keepwarm_internal() const { return keepwarm_internal_.get(); }
  const health::PublicPinger* keepwarm_public() const { return keepwarm_public_.get(); }

  // The pool and its health components; `python` resolved, `env` the zygote's.
  // `ready_event` runs (posted) whenever a worker enters rotation.
  void build_supervision(const std::string& python, std::vector<std::string> env, int death_pipe_read_fd,
                         std::function<void()> ready_event);
  void start();
  void stop_background();
  // Rejects the queue and stops the workers (within `grace` when given).
  void shutdown(std::function<void()> done, std::optional<std::chrono::milliseconds> grace = std::nullopt);
  // /readyz: ready_min workers (at least one) are ready.
  bool ready() const;
  std::vector<pid_t> pids() const;

 private:
  void on_fatal(const std::string& message) override;

  Shared shared_;
  config::AppConfig app_;
  FatalFn on_fatal_;
  State state_ = State::Running;
  // The pool's own stop (shutdown() may be called for a Failed app whose pool
  // is already stopping or stopped: `done` then joins or runs at once).
  enum class PoolLife {
    Up,        // not asked to stop
    Stopping,  // shutdown() called, waiting for the pool
    Down,      // stopped
  };
  PoolLife pool_life_ = PoolLife::Up;
  std::vector<std::function<void()>> stop_waiters_;
  proxy::EnvironOptions environ_;
  proxy::Dispatcher dispatcher_;
  std::unique_ptr<proxy::ProxyHandler> proxy_;
  std::unique_ptr<supervisor::Pool> pool_;
  std::unique_ptr<health::Admission> admission_;
  std::unique_ptr<health::HealthChecker> health_;
  std::unique_ptr<health::InternalKeepwarm> keepwarm_internal_;
  std::unique_ptr<health::PublicPinger> keepwarm_public_;
};

}  // namespace hearth::app
