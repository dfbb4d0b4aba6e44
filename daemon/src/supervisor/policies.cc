#include "supervisor/policies.h"

#include <algorithm>

namespace hearth::supervisor {

uint64_t request_limit(uint64_t max_requests, uint64_t jitter, std::mt19937_64& rng) {
  if (max_requests == 0) return 0;
  if (jitter == 0) return max_requests;
  std::uniform_int_distribution<uint64_t> d(0, jitter);
  return max_requests + d(rng);
}

RecycleReason recycle_reason(uint64_t requests, uint64_t limit, std::optional<uint64_t> uss,
                             uint64_t max_worker_memory) {
  if (max_worker_memory > 0 && uss && *uss > max_worker_memory) return RecycleReason::Memory;
  if (limit > 0 && requests >= limit) return RecycleReason::MaxRequests;
  return RecycleReason::None;
}

std::optional<uint32_t> budget_cap(uint64_t budget, uint64_t zygote_rss, const std::vector<uint64_t>& worker_uss) {
  if (budget == 0 || worker_uss.empty()) return std::nullopt;
  uint64_t per_worker = *std::max_element(worker_uss.begin(), worker_uss.end());
  if (per_worker == 0) return std::nullopt;
  if (zygote_rss >= budget) return 1u;
  uint64_t fit = (budget - zygote_rss) / per_worker;
  return static_cast<uint32_t>(std::clamp<uint64_t>(fit, 1, UINT32_MAX));
}

bool may_eject(uint32_t already_ejecting, uint32_t workers) {
  if (workers == 0) return false;
  return already_ejecting == 0 || (already_ejecting + 1) * 2 <= workers;
}

int scale_decision(const ScaleInput& in) {
  if (in.now - in.last_change < in.cooldown) return 0;
  if (in.queued > 0 && in.live < in.max && in.live <= in.desired) return +1;
  if (in.queued == 0 && in.desired > in.min && in.longest_idle_since &&
      in.now - *in.longest_idle_since >= in.idle_timeout)
    return -1;
  return 0;
}

}  // namespace hearth::supervisor
