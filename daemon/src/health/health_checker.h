#pragma once
// Active health checks: every `health.interval`, a GET of `health.path`
// through each ready worker (an idle slot of it, borrowed from the
// dispatcher; a worker with none free is busy serving and is checked next
// round). unhealthy_threshold consecutive failures eject it: out of rotation
// and replaced, never more than half the workers at once (the pool decides).
// Sees the pool and the dispatcher only through health/worker_access.h.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <memory>

#include "config/config.h"
#include "health/health_tracker.h"
#include "health/worker_access.h"
#include "proxy/environ.h"

namespace hearth::health {

class HealthChecker {
 public:
  HealthChecker(boost::asio::io_context& io, config::HealthConfig cfg, proxy::EnvironOptions env,
                std::shared_ptr<WorkerList> workers, std::shared_ptr<SlotLender> slots);
  void start();
  void stop();
  uint64_t checks_ok() const { return ok_; }
  uint64_t checks_failed() const { return failed_; }
  uint64_t ejections() const { return ejections_; }

 private:
  void round();

  boost::asio::io_context& io_;
  config::HealthConfig cfg_;
  proxy::EnvironOptions env_;
  std::shared_ptr<WorkerList> workers_;
  std::shared_ptr<SlotLender> slots_;
  boost::asio::steady_timer timer_;
  std::map<int, HealthTracker> trackers_;
  std::map<int, bool> in_flight_;
  bool stopped_ = false;
  uint64_t ok_ = 0;
  uint64_t failed_ = 0;
  uint64_t ejections_ = 0;
};

}  // namespace hearth::health
