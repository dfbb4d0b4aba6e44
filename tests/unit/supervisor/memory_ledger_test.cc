// total_memory_budget's bookkeeping (supervisor/memory_ledger.h).
#include "supervisor/memory_ledger.h"

#include <gtest/gtest.h>

namespace hearth::supervisor {
namespace {

constexpr uint64_t MiB = 1 << 20;

TEST(MemoryLedger, AloneAPoolMayUseTheWholeTotal) {
  MemoryLedger l(300 * MiB);
  int a;
  EXPECT_EQ(l.share(&a), 300 * MiB);
  l.report(&a, 120 * MiB);  // its own figure never shrinks its own share
  EXPECT_EQ(l.share(&a), 300 * MiB);
  EXPECT_EQ(l.used(), 120 * MiB);
}

TEST(MemoryLedger, APoolsShareIsWhatTheOthersLeave) {
  MemoryLedger l(300 * MiB);
  int a, b, c;
  l.report(&a, 100 * MiB);
  l.report(&b, 50 * MiB);
  EXPECT_EQ(l.share(&a), 250 * MiB);
  EXPECT_EQ(l.share(&b), 200 * MiB);
  EXPECT_EQ(l.share(&c), 150 * MiB);  // not reported yet: everything the others leave
  l.report(&a, 180 * MiB);            // a report replaces the last one
  EXPECT_EQ(l.share(&b), 120 * MiB);
  EXPECT_EQ(l.used(), 230 * MiB);
}

TEST(MemoryLedger, WhenTheOthersHoldItAllTheShareIsOneByteNeverZero) {
  // 0 would mean "no budget" to the pool; 1 byte means "one worker and no more".
  MemoryLedger l(100 * MiB);
  int a, b;
  l.report(&a, 100 * MiB);
  EXPECT_EQ(l.share(&b), 1u);
  l.report(&a, 140 * MiB);
  EXPECT_EQ(l.share(&b), 1u);
}

TEST(MemoryLedger, AForgottenPoolGivesItsMemoryBack) {
  MemoryLedger l(300 * MiB);
  int a, b;
  l.report(&a, 200 * MiB);
  EXPECT_EQ(l.share(&b), 100 * MiB);
  l.forget(&a);
  EXPECT_EQ(l.share(&b), 300 * MiB);
  EXPECT_EQ(l.used(), 0u);
}

}  // namespace
}  // namespace hearth::supervisor

namespace hearth::supervisor {
namespace {

TEST(MemoryLedger, AnotherPoolMeasuringIsSeenByTheOthersOnly) {
  MemoryLedger l(300 * (1 << 20));
  int a, b;
  l.report(&a, 10, /*measuring=*/true);
  EXPECT_TRUE(l.others_measuring(&b));
  EXPECT_FALSE(l.others_measuring(&a));
  l.report(&a, 80);  // measured
  EXPECT_FALSE(l.others_measuring(&b));
}

}  // namespace
}  // namespace hearth::supervisor
