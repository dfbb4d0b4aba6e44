#pragma once
// Active health-check bookkeeping for one worker: consecutive results against
// thresholds, as load balancers do. Pure.
#include <cstdint>

namespace hearth::health {

class HealthTracker {
 public:
  // One dimension: what the checks say about the worker.
  enum class State {
    Unknown,    // no verdict yet (treated as healthy: it passed admission)
    Healthy,    // healthy_threshold consecutive good checks
    Unhealthy,  // unhealthy_threshold consecutive failed checks: eject
  };
  HealthTracker(uint32_t unhealthy_threshold, uint32_t healthy_threshold)
      : unhealthy_(unhealthy_threshold ? unhealthy_threshold : 1), healthy_(healthy_threshold ? healthy_threshold : 1) {}

  // Records one check; returns the state after it.
  State record(bool ok) {
    if (ok) {
      fails_ = 0;
      if (++goods_ >= healthy_) state_ = State::Healthy;
    } else {
      goods_ = 0;
      if (++fails_ >= unhealthy_) state_ = State::Unhealthy;
    }
    return state_;
  }
  State state() const { return state_; }
  uint32_t consecutive_failures() const { return fails_; }

 private:
  uint32_t unhealthy_;
  uint32_t healthy_;
  uint32_t fails_ = 0;
  uint32_t goods_ = 0;
  State state_ = State::Unknown;
};


}  // namespace hearth::health
