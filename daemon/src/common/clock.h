#pragma once
// The clock is injected so policies can be tested with a manual one.
#include <chrono>

namespace hearth {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = std::chrono::milliseconds;

class ClockSource {
 public:
  virtual ~ClockSource() = default;
  virtual TimePoint now() const = 0;
};

class SteadyClock final : public ClockSource {
 public:
  TimePoint now() const override { return Clock::now(); }
};

// The process's steady clock, for the production wiring and for defaults
// (it holds no state, so sharing one is harmless).
inline const ClockSource& steady_clock_source() {
  static const SteadyClock clock;
  return clock;
}

// For tests: time moves only when advance() is called.
class ManualClock final : public ClockSource {
 public:
  TimePoint now() const override { return now_; }
  void advance(Duration d) { now_ += d; }

 private:
  TimePoint now_{};
};

}  // namespace hearth
