// The Pool's decisions without processes or Python: a World plays the pool
// (it applies each plan the way Pool::execute does and moves workers along as
// the tests say), the reconciler decides, a ManualClock stands in for time.
#include "supervisor/reconciler.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hearth::supervisor {
namespace {

using ms = std::chrono::milliseconds;
using State = Worker::State;
using Reason = Worker::StopReason;
using Kind = Action::Kind;
using Why = Action::Why;
using Strings = std::vector<std::string>;
constexpr uint64_t MiB = 1 << 20;

// One line per action, e.g. "start g2 canary", "retire 3 reload", "promote".
std::string describe(const Action& a) {
  std::string s = action_kind_name(a.kind);
  switch (a.kind) {
    case Kind::StartWorker: s += " g" + std::to_string(a.generation); break;
    case Kind::Retire:
    case Kind::MarkVictim:
    case Kind::StopVictim: s += " " + std::to_string(a.worker) + " " + stop_reason_name(a.reason); break;
    case Kind::CapBudget: s += " " + std::to_string(a.count); break;
    case Kind::StartZygote: s += " g" + std::to_string(a.generation); break;
    case Kind::NoteBudget:
    case Kind::Promote: break;
  }
  switch (a.why) {
    case Why::None: break;
    case Why::Canary: s += " canary"; break;
    case Why::Rolling: s += " rolling"; break;
    case Why::CanaryLastOld: s += " canary_last_old"; break;
    case Why::CanaryNoRoom: s += " canary_no_room"; break;
    case Why::ZygoteNoRoom: s += " zygote_no_room"; break;
    case Why::ZygoteOverBudget: s += " zygote_over_budget"; break;
    case Why::ReplacementReady: s += " replacement_ready"; break;
  }
  return s;
}

Strings describe(const Plan& p) {
  Strings out;
  for (auto& a : p) out.push_back(describe(a));
  return out;
}

// The pool, as far as the reconciler sees it.
class World {
 public:
  explicit World(uint32_t target) {
    v_.target = target;
    add_zygote(1, Zygote::State::Ready);
  }
  PoolView view() const {
    PoolView v = v_;
    v.active = gens.active();
    v.incoming = gens.incoming();
    v.incoming_state = gens.incoming_state();
    return v;
  }
  PoolView& raw() { return v_; }
  // Applies a plan as Pool::execute does; returns its description.
  Strings apply(const Plan& plan) {
    for (auto& a : plan) {
      switch (a.kind) {
        case Kind::StartWorker: {
          WorkerView w;
          w.id = next_id_++;
          w.generation = a.generation;
          w.state = State::Forking;
          v_.workers.push_back(w);
          break;
        }
        case Kind::Retire: stop(a.worker); break;
        case Kind::MarkVictim: v_.recycle_victim = a.worker; break;
        case Kind::StopVictim:
          stop(a.worker);
          v_.recycle_victim = -1;
          break;
        case Kind::CapBudget: v_.target = std::min(v_.target, a.count); break;
        case Kind::NoteBudget: break;
        case Kind::StartZygote:
          gens.room_made();
          add_zygote(a.generation, Zygote::State::Starting);
          break;
        case Kind::Promote: {
          uint32_t old = gens.promote();
          std::erase_if(v_.zygotes, [old](const ZygoteView& z) { return z.generation == old; });
          break;
        }
      }
    }
    return describe(plan);
  }
  Strings maintain() { return apply(plan_maintain(view())); }
  Strings reload() { return apply(plan_reload(view())); }

  WorkerView& worker(int id) {
    for (auto& w : v_.workers)
      if (w.id == id) return w;
    ADD_FAILURE() << "no worker " << id;
    return v_.workers.front();
  }
  // The worker became ready (forked, booted, admitted), as Pool::on_worker_ready sees it.
  void ready(int id, uint64_t uss = 0) {
    auto& w = worker(id);
    w.state = State::Ready;
    w.has_pid = true;
    if (uss) w.memory = MemoryUsage{uss, uss, uss};
    if (gens.is_incoming(w.generation)) gens.canary_ready();
  }
  // A ready worker of `gen` that was already there; returns its id.
  int add_ready(uint32_t gen, uint64_t uss) {
    WorkerView w;
    w.id = next_id_++;
    w.generation = gen;
    v_.workers.push_back(w);
    ready(w.id, uss);
    return w.id;
  }
  void stop(int id) { worker(id).state = worker(id).busy_slots ? State::Draining : State::Stopping; }
  void exit(int id) {
    std::erase_if(v_.workers, [id](const WorkerView& w) { return w.id == id; });
    if (v_.recycle_victim == id) v_.recycle_victim = -1;
  }
  void add_zygote(uint32_t gen, Zygote::State st, uint64_t pss = 0) {
    ZygoteView z;
    z.generation = gen;
    z.state = st;
    z.has_pid = true;
    if (pss) z.memory = MemoryUsage{pss, pss, pss};
    v_.zygotes.push_back(z);
  }
  void zygote_ready(uint32_t gen) {
    for (auto& z : v_.zygotes)
      if (z.generation == gen) z.state = Zygote::State::Ready;
    if (gens.is_incoming(gen)) gens.zygote_ready();
  }
  std::vector<int> ids(State st) const {
    std::vector<int> out;
    for (auto& w : v_.workers)
      if (w.state == st) out.push_back(w.id);
    return out;
  }

  Generations gens;

 private:
  PoolView v_;
  int next_id_ = 1;
};

// --- keeping the target ---

TEST(Reconciler, StartsTheTargetOnceTheZygoteIsReady) {
  World w(3);
  w.raw().zygotes[0].state = Zygote::State::Starting;
  EXPECT_EQ(w.maintain(), Strings{});
  w.zygote_ready(1);
  EXPECT_EQ(w.maintain(), (Strings{"start_worker g1", "start_worker g1", "start_worker g1"}));
  EXPECT_EQ(w.maintain(), Strings{});  // booting workers count
}

TEST(Reconciler, NothingStartsWhileBackingOff) {
  World w(2);
  w.raw().backing_off = true;
  EXPECT_EQ(w.maintain(), Strings{});
  w.raw().backing_off = false;
  EXPECT_EQ(w.maintain().size(), 2u);
}

TEST(Reconciler, ScaleDownRetiresBootingThenIdleThenBusyNewestFirst) {
  World w(4);
  w.maintain();
  for (int id : {1, 2, 3}) w.ready(id);
  w.worker(1).busy_slots = 1;
  w.worker(3).busy_slots = 1;
  // 4 booting, 2 idle, 1 and 3 busy.
  w.raw().target = 1;
  EXPECT_EQ(w.maintain(), (Strings{"retire 4 scale", "retire 2 scale", "retire 3 scale"}));
  EXPECT_EQ(w.ids(State::Ready), (std::vector<int>{1}));
  EXPECT_EQ(w.ids(State::Draining), (std::vector<int>{3}));
}

TEST(Reconciler, ReplacesAWorkerThatExited) {
  World w(2);
  w.maintain();
  w.ready(1);
  w.ready(2);
  w.exit(1);
  EXPECT_EQ(w.maintain(), Strings{"start_worker g1"});
}

// --- recycling ---

TEST(Reconciler, RecyclesOneWorkerAtATimeReplacementFirst) {
  World w(2);
  w.maintain();
  w.ready(1);
  w.ready(2);
  w.worker(1).recycle = RecycleReason::MaxRequests;
  w.worker(2).recycle = RecycleReason::Memory;
  EXPECT_EQ(w.maintain(), (Strings{"mark_victim 1 max_requests", "start_worker g1"}));
  EXPECT_EQ(w.maintain(), Strings{});  // the replacement boots; worker 2 waits its turn
  // Scaling down never picks the victim: it goes when its replacement is ready.
  w.raw().target = 1;
  EXPECT_EQ(w.maintain(), Strings{"retire 3 scale"});
  w.raw().target = 2;
  w.exit(3);
  EXPECT_EQ(w.maintain(), Strings{"start_worker g1"});
  w.ready(4);
  w.stop(1);  // Pool::on_worker_ready stops the victim once its replacement is ready
  w.exit(1);
  EXPECT_EQ(w.maintain(), (Strings{"mark_victim 2 memory", "start_worker g1"}));
}

// --- memory_budget ---

class BudgetWorld : public World {
 public:
  // budget 1000 MiB, zygote 200 MiB.
  explicit BudgetWorld(uint32_t target) : World(target) {
    raw().memory_budget = 1000 * MiB;
    raw().zygotes[0].memory = MemoryUsage{200 * MiB, 200 * MiB, 200 * MiB};
    raw().zygote_cost = 200 * MiB;
  }
};

TEST(Reconciler, BudgetMeasuresTheFirstWorkerThenAdmitsWhatFits) {
  BudgetWorld w(3);
  EXPECT_EQ(w.maintain(), (Strings{"start_worker g1", "note_budget"}));  // Measure: one first
  EXPECT_EQ(w.maintain(), Strings{"note_budget"});                      // still unmeasured
  w.ready(1, 300 * MiB);
  w.raw().worker_cost = 300 * MiB;
  // 200 + 300 used; one more (+300 expected) fits, a third would not.
  EXPECT_EQ(w.maintain(), (Strings{"start_worker g1", "cap_budget 2", "note_budget"}));
  EXPECT_EQ(w.view().target, 2u);
  EXPECT_EQ(w.maintain(), Strings{});
}

TEST(Reconciler, BudgetWaitsForAStoppingWorkerInsteadOfCapping) {
  BudgetWorld w(3);
  w.raw().worker_cost = 300 * MiB;
  w.add_ready(1, 300 * MiB);
  w.add_ready(1, 300 * MiB);
  w.stop(2);  // still holds its memory
  EXPECT_EQ(w.maintain(), Strings{"note_budget"});  // Wait, no cap
  EXPECT_EQ(w.view().target, 3u);
}

TEST(Reconciler, BudgetStopsTheRecycledWorkerBeforeItsReplacement) {
  BudgetWorld w(1);
  w.raw().memory_budget = 600 * MiB;
  w.raw().worker_cost = 300 * MiB;
  w.add_ready(1, 300 * MiB);
  w.worker(1).recycle = RecycleReason::Memory;
  EXPECT_EQ(w.maintain(), (Strings{"mark_victim 1 memory", "stop_victim 1 memory", "note_budget"}));
  EXPECT_EQ(w.view().recycle_victim, -1);
  w.exit(1);
  EXPECT_EQ(w.maintain(), Strings{"start_worker g1"});
}

TEST(Reconciler, BudgetFactsCountStartingAndStoppingProcesses) {
  BudgetWorld w(2);
  w.raw().worker_cost = 300 * MiB;
  w.add_ready(1, 250 * MiB);
  w.add_ready(1, 0);
  w.worker(2).state = State::Booting;
  w.worker(2).memory = MemoryUsage{100 * MiB, 100 * MiB, 100 * MiB};
  BudgetFacts f = budget_facts(w.view());
  EXPECT_EQ(f.used, (200 + 250 + 100) * MiB);
  EXPECT_EQ(f.pending, 200 * MiB);  // worker 2 grows to 300
  EXPECT_EQ(f.live, 2u);
  EXPECT_FALSE(f.freeing);
  w.stop(1);
  w.add_zygote(7, Zygote::State::Starting, 50 * MiB);  // not active nor incoming: an old one going away
  f = budget_facts(w.view());
  EXPECT_EQ(f.live, 1u);
  EXPECT_TRUE(f.freeing);
  EXPECT_EQ(f.pending, (200 + 150) * MiB);  // the starting zygote grows to the active one's 200
}

// --- rolling reload ---

TEST(Reconciler, ReloadCanaryThenOneOldWorkerPerNewOneThenPromote) {
  World w(2);
  w.maintain();
  w.ready(1);
  w.ready(2);
  uint32_t g = w.gens.begin_reload(false);
  w.add_zygote(g, Zygote::State::Starting);
  EXPECT_EQ(w.view().incoming_state, GenerationState::Importing);
  EXPECT_EQ(w.reload(), Strings{});         // importing: nothing to do yet
  EXPECT_EQ(w.maintain(), Strings{});       // the old generation is at its target
  w.zygote_ready(g);
  EXPECT_EQ(w.view().incoming_state, GenerationState::Canary);
  EXPECT_EQ(w.reload(), Strings{"start_worker g2 canary"});
  EXPECT_EQ(w.reload(), Strings{});         // the canary boots
  w.ready(3);
  EXPECT_EQ(w.view().incoming_state, GenerationState::Rolling);
  // N + 1 at most: an old one drains, then the next new one starts.
  EXPECT_EQ(w.maintain(), (Strings{"retire 2 reload", "start_worker g2 rolling"}));
  EXPECT_EQ(w.reload(), Strings{});         // it boots
  w.ready(4);
  EXPECT_EQ(w.reload(), (Strings{"retire 1 reload", "promote"}));
  EXPECT_EQ(w.gens.active(), g);
  EXPECT_FALSE(w.gens.reloading());
  EXPECT_EQ(w.gens.state(1), GenerationState::Retired);
  EXPECT_EQ(w.maintain(), Strings{});
}

TEST(Reconciler, AbortedReloadRefillsTheOldGeneration) {
  World w(2);
  w.maintain();
  w.ready(1);
  w.ready(2);
  uint32_t g = w.gens.begin_reload(false);
  w.add_zygote(g, Zygote::State::Starting);
  w.zygote_ready(g);
  w.reload();
  w.ready(3);
  w.reload();  // retire 2, start 4
  w.exit(2);
  // Worker 4 fails to boot: Pool::abort_reload stops the new generation.
  EXPECT_EQ(w.gens.abort(), std::optional<uint32_t>(g));
  EXPECT_EQ(w.gens.state(g), GenerationState::Retired);
  w.stop(3);
  w.stop(4);
  EXPECT_EQ(w.reload(), Strings{});  // no reload any more
  EXPECT_EQ(w.maintain(), Strings{"start_worker g1"});
  EXPECT_EQ(w.gens.active(), 1u);
}

TEST(Reconciler, RollingDoesNotSpinWhenOnlyTheRecycleVictimIsLeft) {
  World w(1);
  w.maintain();
  w.ready(1);
  w.raw().recycle_victim = 1;
  uint32_t g = w.gens.begin_reload(false);
  w.add_zygote(g, Zygote::State::Ready);
  w.gens.zygote_ready();
  w.reload();
  w.ready(2);
  EXPECT_EQ(w.reload(), Strings{});  // nothing it may retire: wait (the victim goes on its own)
}

TEST(Reconciler, BudgetReloadMakesRoomForTheZygoteFirst) {
  BudgetWorld w(3);
  w.raw().worker_cost = 300 * MiB;
  w.raw().memory_budget = 1200 * MiB;
  for (int i = 0; i < 3; ++i) w.add_ready(1, 100 * MiB);  // 200 + 300 used
  uint32_t g = w.gens.begin_reload(true);
  EXPECT_EQ(w.view().incoming_state, GenerationState::Waiting);
  // 500 used + 200 for the new zygote fits 1200.
  EXPECT_EQ(w.maintain(), Strings{"start_zygote g2"});
  EXPECT_EQ(w.view().incoming_state, GenerationState::Importing);
  (void)g;

  BudgetWorld tight(3);
  tight.raw().worker_cost = 300 * MiB;
  for (int i = 0; i < 3; ++i) tight.add_ready(1, 250 * MiB);  // 200 + 750 used
  tight.gens.begin_reload(true);
  EXPECT_EQ(tight.maintain(), Strings{"retire 3 reload zygote_no_room"});
  EXPECT_EQ(tight.maintain(), Strings{});  // worker 3 still holds its memory
  tight.exit(3);
  EXPECT_EQ(tight.maintain(), Strings{"start_zygote g2"});  // 700 + 200 fits
}

TEST(Reconciler, BudgetReloadGoesOverWithOneOldWorker) {
  BudgetWorld w(1);
  w.raw().memory_budget = 600 * MiB;
  w.raw().worker_cost = 350 * MiB;
  w.add_ready(1, 350 * MiB);  // 550 used; a new zygote (200) does not fit
  w.gens.begin_reload(true);
  EXPECT_EQ(w.maintain(), Strings{"start_zygote g2 zygote_over_budget"});
}

TEST(Reconciler, BudgetCanaryWaitsForRoomOneOldWorkerAtATime) {
  BudgetWorld w(2);
  w.raw().memory_budget = 1300 * MiB;
  w.raw().worker_cost = 350 * MiB;
  w.add_ready(1, 350 * MiB);
  w.add_ready(1, 350 * MiB);
  uint32_t g = w.gens.begin_reload(false);
  w.add_zygote(g, Zygote::State::Starting, 200 * MiB);
  w.zygote_ready(g);  // 200 + 700 + 200 used: no room for a 350 canary
  EXPECT_EQ(w.maintain(), Strings{"retire 2 reload canary_no_room"});
  EXPECT_EQ(w.maintain(), Strings{});  // Wait: worker 2 still holds its memory
  w.exit(2);
  EXPECT_EQ(w.maintain(), Strings{"start_worker g2 canary"});
  w.ready(3, 350 * MiB);
  EXPECT_EQ(w.reload(), Strings{"retire 1 reload"});  // the next new worker does not fit beside it
  w.exit(1);
  EXPECT_EQ(w.reload(), Strings{"start_worker g2 rolling"});
  w.ready(4, 350 * MiB);
  EXPECT_EQ(w.reload(), Strings{"promote"});
}

TEST(Reconciler, BudgetCanaryRetiresTheLastOldWorkerFirst) {
  BudgetWorld w(1);
  w.raw().memory_budget = 900 * MiB;
  w.raw().worker_cost = 350 * MiB;
  w.add_ready(1, 350 * MiB);
  uint32_t g = w.gens.begin_reload(false);
  w.add_zygote(g, Zygote::State::Starting, 200 * MiB);
  w.zygote_ready(g);
  EXPECT_EQ(w.maintain(), Strings{"retire 1 reload canary_last_old"});
  // No old worker is live now: the canary starts (requests wait in the queue).
  EXPECT_EQ(w.maintain(), Strings{"start_worker g2 canary"});
  w.ready(2, 350 * MiB);
  EXPECT_EQ(w.reload(), Strings{"promote"});
}

TEST(Reconciler, BudgetRollingCapsWhenTheNewCodeHoldsFewerWorkers) {
  BudgetWorld w(2);
  w.raw().memory_budget = 1000 * MiB;
  w.raw().worker_cost = 150 * MiB;
  w.add_ready(1, 150 * MiB);
  w.add_ready(1, 150 * MiB);
  uint32_t g = w.gens.begin_reload(false);
  w.add_zygote(g, Zygote::State::Ready, 200 * MiB);
  w.gens.zygote_ready();
  EXPECT_EQ(w.reload(), Strings{"start_worker g2 canary"});
  w.ready(3, 400 * MiB);  // the new code is fatter
  w.raw().worker_cost = 400 * MiB;
  // 200 + 300 + 200 + 400 = 1100 over: an old worker goes first...
  EXPECT_EQ(w.reload(), Strings{"retire 2 reload"});
  w.exit(2);
  // ...the last old one too (the new worker cannot fit beside it)...
  EXPECT_EQ(w.reload(), Strings{"retire 1 reload"});
  w.exit(1);
  // ...and the new generation holds one worker.
  EXPECT_EQ(w.reload(), (Strings{"cap_budget 1", "promote"}));
  EXPECT_EQ(w.view().target, 1u);
}

// --- what an event means ---

TEST(Reconciler, TheVictimGoesWhenAnActiveReplacementIsReady) {
  World w(2);
  w.maintain();
  w.ready(1);
  w.ready(2);
  EXPECT_EQ(replacement_ready(w.view(), 2), std::nullopt);  // no victim
  w.worker(1).recycle = RecycleReason::Memory;
  w.maintain();  // victim 1, replacement 3
  EXPECT_EQ(replacement_ready(w.view(), 1), std::nullopt);  // the victim itself
  w.ready(3);
  auto stop = replacement_ready(w.view(), 3);
  ASSERT_TRUE(stop);
  EXPECT_EQ(describe(*stop), "stop_victim 1 memory replacement_ready");
  EXPECT_EQ(stop->why, Why::ReplacementReady);
  // A new generation's worker is no replacement for an active one.
  w.gens.begin_reload(false);
  auto v = w.view();
  v.workers.push_back(WorkerView{9, *v.incoming, State::Ready});
  EXPECT_EQ(replacement_ready(v, 9), std::nullopt);
}

TEST(Reconciler, AfterAnExchangeEjectAtTheThresholdAndRecycleAtTheLimit) {
  WorkerView w;
  w.state = State::Ready;
  w.consecutive_failures = 2;
  EXPECT_FALSE(after_exchange(w, 3).eject);
  EXPECT_FALSE(after_exchange(w, 0).eject);  // off
  w.consecutive_failures = 3;
  EXPECT_TRUE(after_exchange(w, 3).eject);
  w.state = State::Draining;
  EXPECT_FALSE(after_exchange(w, 3).eject);  // already leaving
  w.request_limit = 100;
  w.requests = 99;
  EXPECT_EQ(after_exchange(w, 0).recycle, RecycleReason::None);
  w.requests = 100;
  EXPECT_EQ(after_exchange(w, 0).recycle, RecycleReason::MaxRequests);
  w.recycle = RecycleReason::Memory;  // marked already: not again
  EXPECT_EQ(after_exchange(w, 0).recycle, RecycleReason::None);
  w.recycle = RecycleReason::None;
  w.request_limit = 0;  // no max_requests
  EXPECT_EQ(after_exchange(w, 0).recycle, RecycleReason::None);
}

TEST(Reconciler, EjectionTakesAtMostHalfTheWorkers) {
  World w(4);
  w.maintain();
  for (int id : {1, 2, 3, 4}) w.ready(id);
  EXPECT_TRUE(eject_verdict(w.view(), 1).allowed);
  w.worker(1).stop_reason = Reason::Health;
  w.stop(1);
  auto v = eject_verdict(w.view(), 2);
  EXPECT_EQ(v.already_ejecting, 1u);
  EXPECT_TRUE(v.allowed);  // 2 of 4
  w.worker(2).stop_reason = Reason::Health;
  w.stop(2);
  v = eject_verdict(w.view(), 3);
  EXPECT_EQ(v.already_ejecting, 2u);
  EXPECT_FALSE(v.allowed);  // a third of 4 is more than half
  EXPECT_FALSE(eject_verdict(w.view(), 1).allowed);  // not ready
  w.exit(1);  // its replacement's turn: one is still being ejected
  EXPECT_TRUE(eject_verdict(w.view(), 3).allowed);
}

TEST(Reconciler, OnlyEarlyDeathsBackOff) {
  for (Reason r : {Reason::Crash, Reason::BootFailed, Reason::BootTimeout, Reason::Broken})
    EXPECT_TRUE(restart_with_backoff(r)) << stop_reason_name(r);
  for (Reason r : {Reason::None, Reason::Shutdown, Reason::Timeout, Reason::Scale, Reason::Reload, Reason::MaxRequests,
                   Reason::Memory, Reason::Health})
    EXPECT_FALSE(restart_with_backoff(r)) << stop_reason_name(r);
}

// --- the generation state machine ---

TEST(Generations, OnlyTheListedTransitionsHappen) {
  Generations g;
  EXPECT_EQ(g.active(), 1u);
  EXPECT_EQ(g.state(1), GenerationState::Active);
  EXPECT_FALSE(g.canary_ready());  // no reload
  EXPECT_EQ(g.promote(), 1u);      // nothing to promote: the active stays
  EXPECT_EQ(g.active(), 1u);
  uint32_t n = g.begin_reload(true);
  EXPECT_EQ(g.state(n), GenerationState::Waiting);
  g.zygote_ready();  // Waiting cannot skip Importing
  EXPECT_EQ(g.state(n), GenerationState::Waiting);
  g.room_made();
  EXPECT_EQ(g.state(n), GenerationState::Importing);
  EXPECT_FALSE(g.canary_ready());
  g.promote();  // not before Rolling
  EXPECT_EQ(g.active(), 1u);
  g.zygote_ready();
  EXPECT_EQ(g.state(n), GenerationState::Canary);
  EXPECT_TRUE(g.canary_ready());
  EXPECT_FALSE(g.canary_ready());  // once
  EXPECT_EQ(g.promote(), 1u);
  EXPECT_EQ(g.active(), n);
  EXPECT_EQ(g.state(1), GenerationState::Retired);
  EXPECT_EQ(g.begin_reload(false), n + 1);
  EXPECT_EQ(g.abort(), std::optional<uint32_t>(n + 1));
  EXPECT_EQ(g.abort(), std::nullopt);
  EXPECT_EQ(g.active(), n);
}

// --- autoscaling, on a manual clock ---

TEST(Reconciler, AutoscaleAddsOnQueueingAndRetiresAfterIdleTimeout) {
  ManualClock clock;
  clock.advance(ms{10000});
  World w(1);
  w.maintain();
  w.ready(1);
  w.worker(1).idle_since = clock.now();
  AutoscaleParams p;
  p.desired = 1;
  p.min = 1;
  p.max = 3;
  p.idle_timeout = ms{5000};
  p.last_change = clock.now();
  p.queued = 4;
  EXPECT_EQ(plan_autoscale(w.view(), p, clock.now()), 0);  // cooldown
  clock.advance(ms{1000});
  EXPECT_EQ(plan_autoscale(w.view(), p, clock.now()), +1);
  p.desired = 2;
  p.last_change = clock.now();
  w.raw().target = 2;
  EXPECT_EQ(w.maintain(), Strings{"start_worker g1"});
  w.ready(2);
  w.worker(2).idle_since = clock.now();
  p.queued = 0;
  clock.advance(ms{4999});
  EXPECT_EQ(plan_autoscale(w.view(), p, clock.now()), -1);  // worker 1 has idled 5999 ms
  w.worker(1).busy_slots = 1;
  EXPECT_EQ(plan_autoscale(w.view(), p, clock.now()), 0);  // worker 2: 4999 ms
  clock.advance(ms{1});
  EXPECT_EQ(plan_autoscale(w.view(), p, clock.now()), -1);  // worker 2: 5000 ms idle
  p.desired = 1;
  w.raw().target = 1;
  EXPECT_EQ(w.maintain(), Strings{"retire 2 scale"});  // the idle one, not the busy one
  EXPECT_EQ(plan_autoscale(w.view(), p, clock.now()), 0);  // at min
}

}  // namespace
}  // namespace hearth::supervisor
