#pragma once
// The Pool's decisions, free of I/O: given what the pool wants (the worker
// target, the reload in progress) and what it observes (its workers and
// zygotes, their memory), they return the actions to take. The Pool builds a
// PoolView (reading /proc only when memory_budget is on), asks, and executes
// the actions in order; it stops at the first StartWorker that fails.
//
// Each function simulates its own actions on a copy of the view (a started
// worker counts as Forking, a retired one as Stopping), so one call plans as
// many steps as the Pool used to take in a loop, re-reading its state each time.
#include <cstdint>
#include <optional>
#include <vector>

#include "common/clock.h"
#include "supervisor/generation.h"
#include "supervisor/memory.h"
#include "supervisor/policies.h"
#include "supervisor/worker.h"
#include "supervisor/zygote.h"

namespace hearth::supervisor {

struct WorkerView {
  int id = 0;
  uint32_t generation = 0;
  Worker::State state = Worker::State::Forking;
  bool has_pid = false;
  std::size_t busy_slots = 0;
  RecycleReason recycle = RecycleReason::None;
  Worker::StopReason stop_reason = Worker::StopReason::None;
  uint64_t requests = 0;       // served (user traffic)
  uint64_t request_limit = 0;  // max_requests + its jitter; 0 = none
  uint32_t consecutive_failures = 0;
  TimePoint idle_since{};
  std::optional<MemoryUsage> memory;  // read only when memory_budget is on
};

struct ZygoteView {
  uint32_t generation = 0;
  Zygote::State state = Zygote::State::Starting;
  bool has_pid = false;
  std::optional<MemoryUsage> memory;  // read only when memory_budget is on
};

struct PoolView {
  // Desired.
  uint32_t target = 1;             // worker count after the memory_budget cap (>= 1)
  uint64_t memory_budget = 0;      // bytes; 0 = off
  // The generations (the state machine in generation.h).
  uint32_t active = 1;
  std::optional<uint32_t> incoming;
  GenerationState incoming_state = GenerationState::Active;
  // Observed.
  bool backing_off = false;        // a failed start put the next attempt on a timer
  int recycle_victim = -1;         // the worker being recycled (serves until its replacement is ready)
  std::vector<WorkerView> workers;  // by id, ascending
  std::vector<ZygoteView> zygotes;
  std::optional<uint64_t> worker_cost;  // memory_budget: the largest USS a ready worker has shown
  uint64_t zygote_cost = 0;             // memory_budget: the active zygote's RSS at the last sample
  // total_memory_budget: another app has a process growing by an amount not
  // measured yet (its first zygote importing, or a worker booting before any
  // of its workers was measured); this app starts no extra worker until then.
  bool others_measuring = false;

  bool budget_on() const { return memory_budget > 0; }
  bool zygote_ready(uint32_t gen) const;
};

struct Action {
  enum class Kind {
    StartWorker,  // fork a worker of `generation`; if it cannot start during a reload, abort it (`why`)
    Retire,       // stop `worker` gracefully for `reason`
    MarkVictim,   // `worker` is recycled: its replacement starts first (`reason` says why)
    StopVictim,   // the recycled `worker` goes now, before its replacement (no room for both)
    CapBudget,    // memory_budget holds `count` workers (`facts` for the log)
    NoteBudget,   // report whether memory_budget can be met at all (`facts`)
    StartZygote,  // the incoming generation's zygote starts (Waiting -> Importing)
    Promote,      // the incoming generation serves; the old one retires
  };
  // Which log line goes with it, or which reload step could not start a worker.
  enum class Why {
    None,
    Canary,            // StartWorker: the canary (abort: "could not start the canary worker")
    Rolling,           // StartWorker: a later new worker
    CanaryLastOld,     // Retire: the budget holds one worker; the old one stops before the canary
    CanaryNoRoom,      // Retire: no room for the canary beside the old workers
    ZygoteNoRoom,      // Retire: no room for the new zygote yet
    ZygoteOverBudget,  // StartZygote: it goes over memory_budget beside the last old worker
    ReplacementReady,  // StopVictim: its replacement is ready
  };
  Kind kind;
  uint32_t generation = 0;
  int worker = -1;
  Worker::StopReason reason = Worker::StopReason::None;
  uint32_t count = 0;
  Why why = Why::None;
  BudgetFacts facts{};

  static Action start(uint32_t gen, Why why = Why::None);
  static Action retire(int id, Worker::StopReason reason, Why why = Why::None);
};
using Plan = std::vector<Action>;

const char* action_kind_name(Action::Kind k);

// What keeps the pool at its target: the reload's steps while one needs
// them (Rolling, or Canary under memory_budget: plan_reload; Waiting:
// plan_room), otherwise recycling one marked worker at a time, starting
// workers of the active generation (admitted by memory_budget) and retiring
// extra ones. Nothing while the active zygote is not ready or a start is
// backing off.
Plan plan_maintain(const PoolView& v);
// The reload's next steps: the canary (Canary), then one old worker retired
// per new worker ready (Rolling), never below the target, and Promote once
// no old worker is left.
Plan plan_reload(const PoolView& v);
// memory_budget, Waiting: retire old workers (one keeps serving) until the
// new zygote fits, then StartZygote.
Plan plan_room(const PoolView& v);

// Which worker of `gen` to stop: booting first, then idle, then busy (newest
// first within each); never the recycle victim. nullopt if none is live.
std::optional<int> pick_retiree(const PoolView& v, uint32_t gen);

// What the app's process tree uses and what is still growing (memory_budget).
BudgetFacts budget_facts(const PoolView& v);

// Whether the worker being recycled counts (it serves until its replacement is ready).
enum class Victim { Counted, Skipped };
// Live = forking, booting, admitting or ready.
uint32_t live_workers(const PoolView& v, uint32_t gen, Victim victim);

// Autoscaling: +1, -1 or 0 (scale_decision in policies.h, fed from the view).
struct AutoscaleParams {
  uint32_t desired = 1;
  uint32_t min = 1;
  uint32_t max = 1;
  std::size_t queued = 0;
  std::chrono::milliseconds idle_timeout{60000};
  TimePoint last_change{};
};
int plan_autoscale(const PoolView& v, const AutoscaleParams& p, TimePoint now);

// --- what an event means ---

// The view of one worker (what observe() puts in PoolView::workers, without memory).
WorkerView view_of(const Worker& w);

// The recycle victim's replacement (worker `ready_id`) is ready: the victim
// goes now (StopVictim, Why::ReplacementReady), if there is one.
std::optional<Action> replacement_ready(const PoolView& v, int ready_id);

// After an exchange on worker `w`: eject it (passive health: as many failed
// exchanges in a row as max_consecutive_failures, 0 = off) and/or mark it for
// recycling (its request limit reached, not marked yet).
struct ExchangeVerdict {
  bool eject = false;
  RecycleReason recycle = RecycleReason::None;
};
ExchangeVerdict after_exchange(const WorkerView& w, uint32_t max_consecutive_failures);

// Whether health may eject worker `id` now: it is ready and at most half of
// the workers are being ejected at once (may_eject in policies.h).
struct EjectVerdict {
  bool allowed = false;
  uint32_t already_ejecting = 0;
};
EjectVerdict eject_verdict(const PoolView& v, int id);

// A worker that ended this way is restarted after the crash-loop backoff
// (it crashed, failed or timed out its boot, or broke the protocol).
bool restart_with_backoff(Worker::StopReason r);

bool is_live(Worker::State s);     // forking, booting, admitting or ready
bool is_booting(Worker::State s);  // forking, booting or admitting
// This pool has a process growing by an amount it has not measured yet (the
// other apps wait for it under total_memory_budget: PoolView::others_measuring).
bool measuring(const PoolView& v);

}  // namespace hearth::supervisor
