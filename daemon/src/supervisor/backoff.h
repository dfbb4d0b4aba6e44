#pragma once
// Respawn policy: exponential backoff while workers keep dying young, reset
// once one has lived long enough. Pure: no timers, no I/O.
#include <chrono>
#include <cstdint>

namespace hearth::supervisor {

class Backoff {
 public:
  using Millis = std::chrono::milliseconds;
  struct Params {
    Millis initial{100};
    Millis max{30000};
    Millis healthy_uptime{10000};  // a process that lived this long resets the streak
    uint32_t crash_loop_after = 5;  // consecutive early deaths that mean "crash loop"
  };
  Backoff() = default;
  explicit Backoff(Params p) : p_(p) {}

  // A process exited after `uptime`; returns how long to wait before the next start.
  Millis on_exit(Millis uptime);
  // A start attempt failed before the process was up (spawn error, boot failure).
  Millis on_failed_start() { return on_exit(Millis{0}); }
  uint32_t streak() const { return streak_; }
  bool crash_loop() const { return streak_ >= p_.crash_loop_after; }
  void reset() { streak_ = 0; }

 private:
  Params p_{};
  uint32_t streak_ = 0;
};

}  // namespace hearth::supervisor
