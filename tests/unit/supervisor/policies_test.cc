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

// --- budget_cap ---

TEST(BudgetCap, OffOrUnmeasured) {
  EXPECT_EQ(budget_cap(0, 100 * MiB, {50 * MiB}), std::nullopt);
  EXPECT_EQ(budget_cap(512 * MiB, 100 * MiB, {}), std::nullopt);
  EXPECT_EQ(budget_cap(512 * MiB, 100 * MiB, {0}), std::nullopt);
}

TEST(BudgetCap, ZygoteOnceThenLargestUssPerWorker) {
  // 512 MiB host, 120 MiB zygote (the preloaded app), workers cost 40..60 MiB each.
  EXPECT_EQ(budget_cap(512 * MiB, 120 * MiB, {40 * MiB, 60 * MiB, 50 * MiB}), 6u);  // 392 / 60
  EXPECT_EQ(budget_cap(512 * MiB, 112 * MiB, {100 * MiB}), 4u);                     // exactly 400 / 100
}

TEST(BudgetCap, NeverBelowOne) {
  EXPECT_EQ(budget_cap(512 * MiB, 600 * MiB, {10 * MiB}), 1u);
  EXPECT_EQ(budget_cap(512 * MiB, 512 * MiB, {10 * MiB}), 1u);
  EXPECT_EQ(budget_cap(512 * MiB, 500 * MiB, {100 * MiB}), 1u);
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
