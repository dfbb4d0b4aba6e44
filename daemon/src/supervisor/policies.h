#pragma once
// Pure lifecycle policies: recycling, the memory budget, autoscaling. No I/O,
// no timers; the Pool feeds them facts and acts on the answers.
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include "common/clock.h"

namespace hearth::supervisor {

// --- recycling ---
enum class RecycleReason {
  None,
  MaxRequests,  // served its max_requests (+ jitter)
  Memory,       // private memory (USS) over max_worker_memory
};

// The request count after which one worker is recycled: max + uniform(0..jitter).
// 0 = never.
uint64_t request_limit(uint64_t max_requests, uint64_t jitter, std::mt19937_64& rng);

RecycleReason recycle_reason(uint64_t requests, uint64_t request_limit, std::optional<uint64_t> uss,
                             uint64_t max_worker_memory);

// --- memory budget ---
// How many workers fit in `budget`: the zygote's pages exist once (its RSS),
// each worker adds its private memory (USS). Uses the largest USS seen, so a
// warm worker's cost counts. Returns nullopt while nothing is measured yet or
// when budget is 0 (off). Never less than 1.
std::optional<uint32_t> budget_cap(uint64_t budget, uint64_t zygote_rss, const std::vector<uint64_t>& worker_uss);

// --- health ejection ---
// Ejection may take out at most half of the workers at once, but one may
// always go (as Envoy's outlier detection does).
bool may_eject(uint32_t already_ejecting, uint32_t workers);

// --- autoscaling ---
struct ScaleInput {
  uint32_t live = 0;         // workers forking, booting or ready
  uint32_t desired = 0;      // the current target
  uint32_t min = 1;
  uint32_t max = 1;
  std::size_t queued = 0;    // requests waiting for a slot
  // Ready workers idle since (none busy); the oldest idle time matters.
  std::optional<TimePoint> longest_idle_since;
  TimePoint now{};
  std::chrono::milliseconds idle_timeout{60000};
  TimePoint last_change{};   // last scale decision (up or down)
  std::chrono::milliseconds cooldown{1000};
};

// +1 (requests are queueing and there is room), -1 (a worker idled past
// idle_timeout and we are above min), or 0. At most one step per cooldown.
int scale_decision(const ScaleInput& in);

}  // namespace hearth::supervisor
