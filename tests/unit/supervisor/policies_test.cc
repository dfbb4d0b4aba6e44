// Pure lifecycle policies (recycling, memory budget, autoscaling) and the
// smaps_rollup parser behind the memory figures.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include <unistd.h>

#include "supervisor/memory.h"
#include "supervisor/policies.h"

namespace hearth::supervisor {
namespace {

using std::chrono::milliseconds;
constexpr uint64_t MiB = 1024 * 1024;

// --- request_limit ---

TEST(RequestLimit, ZeroMeansNever) {
  std::mt19937_64 rng(1);
  EXPECT_EQ(request_limit(0, 0, rng), 0u);
  EXPECT_EQ(request_limit(0, 50, rng), 0u);  // jitter alone does not turn recycling on
}

TEST(RequestLimit, NoJitterIsExact) {
  std::mt19937_64 rng(1);
  EXPECT_EQ(request_limit(1000, 0, rng), 1000u);
}

TEST(RequestLimit, JitterStaysInRangeAndSpreads) {
  std::mt19937_64 rng(42);
  std::set<uint64_t> seen;
  for (int i = 0; i < 500; ++i) {
    uint64_t l = request_limit(100, 10, rng);
    EXPECT_GE(l, 100u);
    EXPECT_LE(l, 110u);
    seen.insert(l);
  }
  EXPECT_GT(seen.size(), 5u);  // workers do not all recycle together
  EXPECT_TRUE(seen.count(100) && seen.count(110));  // both ends reachable
}

// --- recycle_reason ---

TEST(RecycleReason, NoneBelowTheLimits) {
  EXPECT_EQ(recycle_reason(5, 10, 100 * MiB, 200 * MiB), RecycleReason::None);
  EXPECT_EQ(recycle_reason(5, 0, std::nullopt, 0), RecycleReason::None);
}

TEST(RecycleReason, MaxRequestsAtTheLimit) {
  EXPECT_EQ(recycle_reason(9, 10, std::nullopt, 0), RecycleReason::None);
  EXPECT_EQ(recycle_reason(10, 10, std::nullopt, 0), RecycleReason::MaxRequests);
  EXPECT_EQ(recycle_reason(11, 10, std::nullopt, 0), RecycleReason::MaxRequests);
  EXPECT_EQ(recycle_reason(1000000, 0, std::nullopt, 0), RecycleReason::None);  // 0 = never
}

TEST(RecycleReason, MemoryOnlyAboveTheCapAndOnlyWhenMeasured) {
  EXPECT_EQ(recycle_reason(0, 0, 200 * MiB, 200 * MiB), RecycleReason::None);  // equal is fine
  EXPECT_EQ(recycle_reason(0, 0, 200 * MiB + 1, 200 * MiB), RecycleReason::Memory);
  EXPECT_EQ(recycle_reason(0, 0, std::nullopt, 200 * MiB), RecycleReason::None);
  EXPECT_EQ(recycle_reason(0, 0, 900 * MiB, 0), RecycleReason::None);  // 0 = off
}

TEST(RecycleReason, MemoryWinsOverMaxRequests) {
  EXPECT_EQ(recycle_reason(10, 10, 300 * MiB, 200 * MiB), RecycleReason::Memory);
}

// --- memory budget admission ---

BudgetFacts facts(uint64_t budget, uint64_t used, std::optional<uint64_t> cost, uint32_t live) {
  BudgetFacts f;
  f.budget = budget;
  f.used = used;
  f.worker_cost = cost;
  f.live = live;
  return f;
}

TEST(AdmitWorker, OffOrFirstWorkerAlwaysStarts) {
  EXPECT_EQ(admit_worker(facts(0, 900 * MiB, std::nullopt, 7)), BudgetAdmit::Start);
  // One worker always runs, even when the zygote alone is over the budget.
  EXPECT_EQ(admit_worker(facts(100 * MiB, 341 * MiB, std::nullopt, 0)), BudgetAdmit::Start);
  EXPECT_EQ(admit_worker(facts(100 * MiB, 341 * MiB, 300 * MiB, 0)), BudgetAdmit::Start);
}

TEST(AdmitWorker, MeasuresTheFirstWorkerBeforeStartingAnother) {
  // The case: a 700 MiB budget, lazy workers that load 300 MiB at import.
  // While the first worker boots, nothing is known: do not start the other three.
  EXPECT_EQ(admit_worker(facts(700 * MiB, 15 * MiB, std::nullopt, 1)), BudgetAdmit::Measure);
}

TEST(AdmitWorker, WaitsWhileAnotherAppUnderTheTotalBudgetIsMeasuring) {
  // total_memory_budget: another app's first worker is importing an unknown amount.
  BudgetFacts f = facts(700 * MiB, 100 * MiB, 50 * MiB, 1);
  EXPECT_EQ(admit_worker(f), BudgetAdmit::Start);
  f.others_measuring = true;
  EXPECT_EQ(admit_worker(f), BudgetAdmit::Measure);
  f.live = 0;  // but this app's one worker never waits
  EXPECT_EQ(admit_worker(f), BudgetAdmit::Start);
}

TEST(AdmitWorker, StartsOnlyWhatFitsCountingWhatIsStillGrowing) {
  BudgetFacts f = facts(700 * MiB, 320 * MiB, 300 * MiB, 1);  // zygote + one measured worker
  EXPECT_EQ(admit_worker(f), BudgetAdmit::Start);             // 320 + 300 <= 700
  f.live = 2;
  f.pending = expected_growth(5 * MiB, 300 * MiB);  // the second is booting at 5 MiB
  EXPECT_EQ(admit_worker(f), BudgetAdmit::Full);    // 320 + 295 + 300 > 700
  f.used = 620 * MiB;  // both ready
  f.pending = 0;
  EXPECT_EQ(admit_worker(f), BudgetAdmit::Full);
  // Exactly at the budget is inside it.
  EXPECT_EQ(admit_worker(facts(600 * MiB, 300 * MiB, 300 * MiB, 1)), BudgetAdmit::Start);
  EXPECT_EQ(admit_worker(facts(600 * MiB, 300 * MiB + 1, 300 * MiB, 1)), BudgetAdmit::Full);
}

TEST(AdmitWorker, WaitsForAStoppingProcessRatherThanCapping) {
  BudgetFacts f = facts(700 * MiB, 620 * MiB, 300 * MiB, 1);  // one old worker still draining
  f.freeing = true;
  EXPECT_EQ(admit_worker(f), BudgetAdmit::Wait);
  f.used = 320 * MiB;  // it has gone
  EXPECT_EQ(admit_worker(f), BudgetAdmit::Start);
}

TEST(ExpectedGrowth, UpToWhatItsKindCosts) {
  EXPECT_EQ(expected_growth(5 * MiB, 300 * MiB), 295 * MiB);
  EXPECT_EQ(expected_growth(300 * MiB, 300 * MiB), 0u);
  EXPECT_EQ(expected_growth(310 * MiB, 300 * MiB), 0u);
}

TEST(BudgetFit, OffOrUnmeasured) {
  EXPECT_EQ(budget_fit(facts(0, 100 * MiB, 50 * MiB, 2)), std::nullopt);
  EXPECT_EQ(budget_fit(facts(512 * MiB, 100 * MiB, std::nullopt, 1)), std::nullopt);
  EXPECT_EQ(budget_fit(facts(512 * MiB, 100 * MiB, 0, 1)), std::nullopt);
}

TEST(BudgetFit, RoomForMoreOrRetireWhatIsOver) {
  EXPECT_EQ(budget_fit(facts(700 * MiB, 320 * MiB, 300 * MiB, 1)), 2u);   // 380 left: one more
  EXPECT_EQ(budget_fit(facts(700 * MiB, 620 * MiB, 300 * MiB, 2)), 2u);   // 80 left: none
  EXPECT_EQ(budget_fit(facts(512 * MiB, 112 * MiB, 100 * MiB, 0)), 4u);   // exactly 400 / 100
  EXPECT_EQ(budget_fit(facts(700 * MiB, 920 * MiB, 300 * MiB, 3)), 2u);   // 220 over: one goes
  EXPECT_EQ(budget_fit(facts(700 * MiB, 1330 * MiB, 300 * MiB, 4)), 1u);  // 630 over: three go
  BudgetFacts f = facts(700 * MiB, 320 * MiB, 300 * MiB, 2);
  f.pending = 295 * MiB;  // a booting worker counts at its expected size
  EXPECT_EQ(budget_fit(f), 2u);
}

TEST(BudgetFit, NeverBelowOne) {
  EXPECT_EQ(budget_fit(facts(100 * MiB, 341 * MiB, 10 * MiB, 1)), 1u);
  EXPECT_EQ(budget_fit(facts(512 * MiB, 900 * MiB, 100 * MiB, 2)), 1u);
}

TEST(BudgetUnmet, OnlyWhenOneWorkerIsAlreadyTooMuch) {
  EXPECT_TRUE(budget_unmet(facts(100 * MiB, 341 * MiB, 10 * MiB, 1)));
  EXPECT_FALSE(budget_unmet(facts(100 * MiB, 99 * MiB, 10 * MiB, 1)));
  EXPECT_FALSE(budget_unmet(facts(700 * MiB, 900 * MiB, 300 * MiB, 3)));  // retiring fixes it
  EXPECT_FALSE(budget_unmet(facts(0, 900 * MiB, 300 * MiB, 1)));
}

// --- scale_decision ---

TimePoint at(int ms) { return TimePoint{} + milliseconds(ms); }

ScaleInput base() {
  ScaleInput in;
  in.live = 2;
  in.desired = 2;
  in.min = 1;
  in.max = 4;
  in.now = at(100000);
  in.last_change = at(0);
  in.cooldown = milliseconds(1000);
  in.idle_timeout = milliseconds(60000);
  return in;
}

TEST(ScaleDecision, SteadyStateIsZero) { EXPECT_EQ(scale_decision(base()), 0); }

TEST(ScaleDecision, UpWhenQueueingAndRoom) {
  ScaleInput in = base();
  in.queued = 3;
  EXPECT_EQ(scale_decision(in), +1);
}

TEST(ScaleDecision, NotUpAtMax) {
  ScaleInput in = base();
  in.queued = 3;
  in.live = 4;
  in.desired = 4;
  EXPECT_EQ(scale_decision(in), 0);
}

TEST(ScaleDecision, NotUpWhileMoreAreLiveThanDesired) {
  ScaleInput in = base();
  in.queued = 3;
  in.live = 3;     // more live than desired: a worker on its way out
  in.desired = 2;
  EXPECT_EQ(scale_decision(in), 0);
}

TEST(ScaleDecision, CooldownBlocksBothDirections) {
  ScaleInput up = base();
  up.queued = 1;
  up.last_change = up.now - milliseconds(999);
  EXPECT_EQ(scale_decision(up), 0);
  up.last_change = up.now - milliseconds(1000);
  EXPECT_EQ(scale_decision(up), +1);

  ScaleInput down = base();
  down.longest_idle_since = at(0);
  down.last_change = down.now - milliseconds(10);
  EXPECT_EQ(scale_decision(down), 0);
}

TEST(ScaleDecision, DownAfterIdleTimeoutAboveMin) {
  ScaleInput in = base();
  in.longest_idle_since = in.now - milliseconds(59999);
  EXPECT_EQ(scale_decision(in), 0);
  in.longest_idle_since = in.now - milliseconds(60000);
  EXPECT_EQ(scale_decision(in), -1);
}

TEST(ScaleDecision, NotDownAtMinOrWhileQueueingOrWithoutIdleWorkers) {
  ScaleInput at_min = base();
  at_min.desired = 1;
  at_min.live = 1;
  at_min.longest_idle_since = at(0);
  EXPECT_EQ(scale_decision(at_min), 0);

  ScaleInput queueing = base();
  queueing.live = 4;
  queueing.desired = 4;
  queueing.queued = 1;
  queueing.longest_idle_since = at(0);
  EXPECT_EQ(scale_decision(queueing), 0);

  ScaleInput busy = base();
  busy.longest_idle_since = std::nullopt;
  EXPECT_EQ(scale_decision(busy), 0);
}

// --- parse_smaps_rollup ---

// A worker forked from a preloaded zygote (Linux 6.1 layout, values in kB).
constexpr const char* kRollup =
    "55d0c0a00000-7ffd3b5ff000 ---p 00000000 00:00 0                          [rollup]\n"
    "Rss:               91236 kB\n"
    "Pss:               38410 kB\n"
    "Pss_Dirty:         30002 kB\n"
    "Pss_Anon:          29980 kB\n"
    "Pss_File:           8430 kB\n"
    "Pss_Shmem:             0 kB\n"
    "Shared_Clean:      12044 kB\n"
    "Shared_Dirty:      56100 kB\n"
    "Private_Clean:       116 kB\n"
    "Private_Dirty:     22976 kB\n"
    "Referenced:        91236 kB\n"
    "Anonymous:         79052 kB\n"
    "LazyFree:              0 kB\n"
    "AnonHugePages:         0 kB\n"
    "ShmemPmdMapped:        0 kB\n"
    "FilePmdMapped:         0 kB\n"
    "Shared_Hugetlb:        0 kB\n"
    "Private_Hugetlb:       0 kB\n"
    "Swap:                  0 kB\n"
    "SwapPss:               0 kB\n"
    "Locked:                0 kB\n";

TEST(SmapsRollup, ParsesRssPssUssShared) {
  auto m = parse_smaps_rollup(kRollup);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->rss, 91236u * 1024);
  EXPECT_EQ(m->pss, 38410u * 1024);  // not Pss_Dirty/Pss_Anon/Pss_File
  EXPECT_EQ(m->uss, (116u + 22976u) * 1024);  // Private_Clean + Private_Dirty (not Private_Hugetlb)
  EXPECT_EQ(m->shared, (12044u + 56100u) * 1024);
  EXPECT_EQ(m->uss + m->shared, m->rss);
  EXPECT_LE(m->uss, m->pss);
  EXPECT_LE(m->pss, m->rss);
}

TEST(SmapsRollup, NoRssLineIsNullopt) {
  EXPECT_FALSE(parse_smaps_rollup(""));
  EXPECT_FALSE(parse_smaps_rollup("Pss: 10 kB\nPrivate_Dirty: 5 kB\n"));
}

TEST(SmapsRollup, ToleratesMissingTrailingNewlineAndJunk) {
  auto m = parse_smaps_rollup("garbage line\nRss: 10 kB\nPrivate_Dirty:   4 kB");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->rss, 10u * 1024);
  EXPECT_EQ(m->uss, 4u * 1024);
  EXPECT_EQ(m->pss, 0u);
}

TEST(SmapsRollup, ReadsThisProcess) {
  auto m = read_memory(::getpid());
  ASSERT_TRUE(m) << "/proc/self/smaps_rollup needs Linux 4.14+";
  EXPECT_GT(m->rss, 0u);
  EXPECT_GT(m->pss, 0u);
  EXPECT_LE(m->uss, m->rss);
}

TEST(SmapsRollup, GoneProcessIsNullopt) { EXPECT_FALSE(read_memory(-1)); }

}  // namespace
}  // namespace hearth::supervisor
