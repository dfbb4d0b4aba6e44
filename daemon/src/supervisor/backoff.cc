#include "supervisor/backoff.h"

#include <algorithm>

namespace hearth::supervisor {

Backoff::Millis Backoff::on_exit(Millis uptime) {
  if (uptime >= p_.healthy_uptime) {
    streak_ = 0;
    return Millis{0};
  }
  ++streak_;
  // First early death: respawn at once; then initial * 2^(streak-2), capped.
  if (streak_ == 1) return Millis{0};
  uint32_t shift = std::min<uint32_t>(streak_ - 2, 20);
  auto d = p_.initial * (int64_t{1} << shift);
  return std::min(d, p_.max);
}

}  // namespace hearth::supervisor
