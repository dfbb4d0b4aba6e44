#pragma once
// How many RST_STREAM frames a client may send (CVE-2023-44487, rapid reset):
// a token bucket of `burst` resets that refills at `per_second`. Pure, time
// passed in. H2Connection checks it before nghttp2's own limit (which ends the
// session with INTERNAL_ERROR) so the flood ends with ENHANCE_YOUR_CALM.
#include <algorithm>
#include <cstdint>

#include "common/clock.h"

namespace hearth::net {

class ResetBudget {
 public:
  ResetBudget(uint32_t burst, uint32_t per_second, TimePoint now)
      : burst_(burst), per_second_(per_second), tokens_(burst), refilled_at_(now) {}

  // Spends one reset; false when the budget is exhausted (the client is flooding).
  [[nodiscard]] bool take(TimePoint now) {
    if (now > refilled_at_) {
      double secs = std::chrono::duration<double>(now - refilled_at_).count();
      tokens_ = std::min<double>(burst_, tokens_ + secs * per_second_);
      refilled_at_ = now;
    }
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

 private:
  uint32_t burst_;
  uint32_t per_second_;
  double tokens_;
  TimePoint refilled_at_;
};

}  // namespace hearth::net
