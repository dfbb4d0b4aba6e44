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

BudgetAdmit admit_worker(const BudgetFacts& f) {
  if (f.budget == 0 || f.live == 0) return BudgetAdmit::Start;
  if (!f.worker_cost || f.others_measuring) return BudgetAdmit::Measure;
  if (f.used + f.pending + *f.worker_cost <= f.budget) return BudgetAdmit::Start;
  return f.freeing ? BudgetAdmit::Wait : BudgetAdmit::Full;
}

uint64_t expected_growth(uint64_t now, uint64_t expected) { return expected > now ? expected - now : 0; }

std::optional<uint32_t> budget_fit(const BudgetFacts& f) {
  if (f.budget == 0 || !f.worker_cost || *f.worker_cost == 0) return std::nullopt;
  uint64_t cost = *f.worker_cost;
  uint64_t projected = f.used + f.pending;
  uint64_t fit;
  if (projected <= f.budget) {
    fit = uint64_t{f.live} + (f.budget - projected) / cost;
  } else {
    uint64_t over = (projected - f.budget + cost - 1) / cost;
    fit = over >= f.live ? 1 : f.live - over;
  }
  return static_cast<uint32_t>(std::clamp<uint64_t>(fit, 1, UINT32_MAX));
}

bool budget_unmet(const BudgetFacts& f) { return f.budget > 0 && f.live <= 1 && f.used > f.budget; }

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
