#pragma once
// keepwarm.internal_interval: when no user request arrived for that long,
// send a warm-up request through each ready worker, so state an app loads
// lazily (a model, caches) is touched and stays in memory. Sees the pool and
// the dispatcher only through health/worker_access.h.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>

#include "common/clock.h"
#include "config/config.h"
#include "health/worker_access.h"
#include "proxy/environ.h"

namespace hearth::health {

class InternalKeepwarm {
 public:
  // last_user_request: when the last user request arrived.
  InternalKeepwarm(boost::asio::io_context& io, std::chrono::milliseconds interval, config::WarmupRequest request,
                   proxy::EnvironOptions env, std::chrono::milliseconds timeout, std::shared_ptr<WorkerList> workers,
                   std::shared_ptr<SlotLender> slots, std::function<TimePoint()> last_user_request);
  void start();
  void stop();
  uint64_t pings_ok() const { return ok_; }
  uint64_t pings_failed() const { return failed_; }

 private:
  void check();

  boost::asio::io_context& io_;
  std::chrono::milliseconds interval_;
  config::WarmupRequest request_;
  proxy::EnvironOptions env_;
  std::chrono::milliseconds timeout_;
  std::shared_ptr<WorkerList> workers_;
  std::shared_ptr<SlotLender> slots_;
  std::function<TimePoint()> last_user_request_;
  boost::asio::steady_timer timer_;
  TimePoint last_round_{};
  bool stopped_ = false;
  uint64_t ok_ = 0;
  uint64_t failed_ = 0;
};

}  // namespace hearth::health
