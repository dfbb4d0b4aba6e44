#include "health/health_checker.h"

#include "common/log.h"
#include "health/internal_request.h"

namespace hearth::health {

HealthChecker::HealthChecker(boost::asio::io_context& io, config::HealthConfig cfg, proxy::EnvironOptions env,
                             std::shared_ptr<WorkerList> workers, std::shared_ptr<SlotLender> slots)
    : io_(io), cfg_(std::move(cfg)), env_(std::move(env)), workers_(std::move(workers)), slots_(std::move(slots)),
      timer_(io) {}

void HealthChecker::start() {
  if (cfg_.path.empty()) return;
  timer_.expires_after(cfg_.interval);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) round();
  });
}

void HealthChecker::stop() {
  stopped_ = true;
  timer_.cancel();
}

void HealthChecker::round() {
  if (stopped_) return;
  std::map<int, HealthTracker> live;
  for (int id : workers_->ready_workers()) {
    auto it = trackers_.find(id);
    live.emplace(id, it != trackers_.end() ? it->second
                                           : HealthTracker(cfg_.unhealthy_threshold, cfg_.healthy_threshold));
    if (in_flight_[id]) continue;
    auto slot = slots_->borrow_slot(id);
    if (!slot) continue;  // busy serving: check it next round
    in_flight_[id] = true;
    config::WarmupRequest req;
    req.path = cfg_.path;
    send_internal(io_, *slot, req, env_, "health", cfg_.timeout, [this, id](const InternalResult& r) {
      in_flight_[id] = false;
      auto it = trackers_.find(id);
      if (it == trackers_.end()) return;  // the worker is gone
      if (r.ok) ++ok_;
      else ++failed_;
      auto after = it->second.record(r.ok);
      if (!r.ok)
        HLOG_CTX(Warn, "health", "worker " << id << " failed its health check (" << r.error << "), "
                                           << it->second.consecutive_failures() << " in a row");
      // Ejected as soon as the half-of-the-workers rule allows (the pool says no while too many go).
      if (after == HealthTracker::State::Unhealthy) {
        if (workers_->eject(id, "failed " + std::to_string(it->second.consecutive_failures()) + " health checks"))
          ++ejections_;
      }
    });
  }
  trackers_ = std::move(live);
  std::erase_if(in_flight_, [this](auto& kv) { return !trackers_.count(kv.first); });
  timer_.expires_after(cfg_.interval);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) round();
  });
}

}  // namespace hearth::health
