#include "net/reset_budget.h"

#include <gtest/gtest.h>

namespace hearth::net {
namespace {

using std::chrono::milliseconds;

TEST(ResetBudget, BurstThenRefusesUntilRefilled) {
  TimePoint t0{};
  ResetBudget b(1000, 33, t0);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(b.take(t0)) << i;
  EXPECT_FALSE(b.take(t0));
  // 33 per second: after 100 ms three tokens are back, not four.
  TimePoint t1 = t0 + milliseconds(100);
  EXPECT_TRUE(b.take(t1));
  EXPECT_TRUE(b.take(t1));
  EXPECT_TRUE(b.take(t1));
  EXPECT_FALSE(b.take(t1));
}

TEST(ResetBudget, RefillIsCappedAtTheBurst) {
  TimePoint t0{};
  ResetBudget b(10, 33, t0);
  TimePoint later = t0 + std::chrono::hours(1);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(b.take(later)) << i;
  EXPECT_FALSE(b.take(later));
}

TEST(ResetBudget, SteadyRateBelowTheLimitNeverTrips) {
  TimePoint t{};
  ResetBudget b(5, 33, t);
  for (int i = 0; i < 10000; ++i) {
    t += milliseconds(31);  // ~32 per second
    ASSERT_TRUE(b.take(t)) << i;
  }
}

}  // namespace
}  // namespace hearth::net
