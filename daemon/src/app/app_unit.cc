#include "app/app_unit.h"

#include <boost/asio/post.hpp>
#include <algorithm>

#include "app/daemon_builder.h"
#include "app/telemetry.h"
#include "health/pool_access.h"

namespace hearth::app {

namespace {
proxy::EnvironOptions app_environ(proxy::EnvironOptions base, const config::AppConfig& app) {
  std::string p = app.prefix;
  while (!p.empty() && p.back() == '/') p.pop_back();
  base.script_name = std::move(p);
  base.forwarded_allow_ips = app.settings->forwarded_allow_ips;
  return base;
}
}  // namespace

AppUnit::AppUnit(Shared shared, config::AppConfig app, FatalFn on_fatal)
    : shared_(std::move(shared)),
      app_(std::move(app)),
      on_fatal_(std::move(on_fatal)),
      environ_(app_environ(shared_.environ, app_)),
      dispatcher_(shared_.io, shared_.clock, app_.settings->max_queue, app_.settings->queue_timeout) {
  dispatcher_.set_retry_methods(app_.settings->retry_methods);
  proxy_ = std::make_unique<proxy::ProxyHandler>(dispatcher_, environ_, shared_.observer, &shared_.clock);
  proxy_->set_via(app_.settings->http.via);
  // A WebSocket upgrade to a WSGI app is refused by the proxy (the pool knows the app's interface).
  proxy_->set_interface_probe([this] { return pool_ ? pool_->app_interface() : std::string(); });
}

AppUnit::~AppUnit() = default;

void AppUnit::build_supervision(const std::string& python, std::vector<std::string> env, int death_pipe_read_fd,
                                std::function<void()> ready_event) {
  const config::Config& c = *app_.settings;
  auto po = pool_options(c, python, std::move(env), death_pipe_read_fd);
  if (shared_.name_in_logs) po.zygote.log_name = app_.name;
  po.ledger = shared_.ledger;
  pool_ = std::make_unique<supervisor::Pool>(shared_.io, shared_.spawner, shared_.reaper, po,
                                             static_cast<supervisor::Pool::Listener&>(*this), shared_.clock);
  pool_->set_queue_probe([this] { return dispatcher_.queue_length(); });
  // Free slots go straight to this app's dispatcher (WorkerSlot::Home).
  pool_->set_slot_home(&dispatcher_);
  if (!c.warmup.requests.empty() || !c.health.path.empty()) {
    admission_ = std::make_unique<health::Admission>(shared_.io, app_.settings, environ_);
    pool_->set_admission([this](std::shared_ptr<supervisor::Worker> w, std::function<void(bool, std::string)> done) {
      admission_->admit(health::admission_target(w), std::move(done));
    });
  }
  health_ = std::make_unique<health::HealthChecker>(shared_.io, c.health, environ_, health::pool_workers(*pool_),
                                                    health::dispatcher_slots(dispatcher_));
  keepwarm_internal_ = std::make_unique<health::InternalKeepwarm>(
      shared_.io, c.keepwarm.internal_interval, keepwarm_request(c), environ_, c.timeout, health::pool_workers(*pool_),
      health::dispatcher_slots(dispatcher_), [this] { return proxy_->last_request(); });
  keepwarm_public_ = std::make_unique<health::PublicPinger>(shared_.io, c.keepwarm.url, c.keepwarm.interval,
                                                            c.keepwarm.jitter, c.keepwarm.timeout);
  pool_->set_ready_hook([this, ready_event = std::move(ready_event)](const supervisor::Worker& w) {
    if (shared_.telemetry) shared_.telemetry->on_worker_ready(w);
    boost::asio::post(shared_.io, ready_event);
  });
}

void AppUnit::start() {
  pool_->start();
  health_->start();
  keepwarm_internal_->start();
  keepwarm_public_->start();
}

void AppUnit::stop_background() {
  if (health_) health_->stop();
  if (keepwarm_internal_) keepwarm_internal_->stop();
  if (keepwarm_public_) keepwarm_public_->stop();
}

void AppUnit::shutdown(std::function<void()> done, std::optional<std::chrono::milliseconds> grace) {
  stop_background();
  dispatcher_.reject_all("shutting down");
  if (state_ == State::Running) state_ = State::Stopped;
  if (pool_life_ == PoolLife::Down || !pool_) {
    if (done) done();
    return;
  }
  if (done) stop_waiters_.push_back(std::move(done));
  if (pool_life_ == PoolLife::Stopping) return;
  pool_life_ = PoolLife::Stopping;
  pool_->shutdown(
      [this] {
        pool_life_ = PoolLife::Down;
        auto waiters = std::move(stop_waiters_);
        for (auto& w : waiters) w();
      },
      grace);
}

bool AppUnit::ready() const {
  return state_ == State::Running && pool_ &&
         pool_->ready_workers() >= std::max<uint32_t>(app_.settings->ready_min, 1);
}

std::vector<pid_t> AppUnit::pids() const { return pool_ ? pool_->pids() : std::vector<pid_t>{}; }

void AppUnit::on_fatal(const std::string& message) {
  if (state_ != State::Running) return;
  state_ = State::Failed;
  stop_background();
  dispatcher_.reject_all("the app failed to load");
  on_fatal_(*this, message);
}

}  // namespace hearth::app
