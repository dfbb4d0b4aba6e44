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
// What the pool knows about the app's memory when it decides whether one more
// worker may start. The budget covers the app's whole process tree (zygotes
// and workers, also those still stopping), counted in PSS as the kernel
// reports it, so the sum is the real total.
struct BudgetFacts {
  uint64_t budget = 0;   // memory_budget in bytes; 0 = off
  uint64_t used = 0;     // PSS of the app's process tree now
  uint64_t pending = 0;  // growth still expected from processes that are starting (see expected_growth)
  // What one more ready worker adds: the largest private memory (USS) a ready
  // worker has shown. nullopt until one has been measured.
  std::optional<uint64_t> worker_cost;
  uint32_t live = 0;     // workers forking, booting or ready
  bool freeing = false;  // a worker or zygote is stopping: its memory comes back soon
  // total_memory_budget: another app's process is still growing by an unknown
  // amount; no extra worker starts until it is measured.
  bool others_measuring = false;
};

enum class BudgetAdmit {
  Start,    // the next worker fits (or there is no budget, or no worker runs at all)
  Measure,  // wait: no worker has been measured yet (start one, measure, then decide),
            // here or, under total_memory_budget, in another app
  Wait,     // it does not fit yet, but a stopping process will give memory back
  Full,     // it does not fit: the budget holds `live` workers
};

// Admission of one more worker, decided before it starts (and grows). One
// worker always runs, even when the budget cannot hold it.
BudgetAdmit admit_worker(const BudgetFacts& f);

// How a process that is starting is expected to grow: from `now` (its PSS
// now) up to `expected` (what its kind costs when ready); 0 once it is there.
uint64_t expected_growth(uint64_t now, uint64_t expected);

// How many workers the budget holds with `live` running: more while there is
// room for another `worker_cost`, fewer while the tree is over the budget
// (each retired worker gives back about `worker_cost`). Never less than 1.
// nullopt when the budget is off or no worker has been measured yet.
std::optional<uint32_t> budget_fit(const BudgetFacts& f);

// The budget cannot be met at all: the tree is over it with one worker or none.
bool budget_unmet(const BudgetFacts& f);

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
