// Active health-check thresholds and the at-most-half ejection rule.
#include "health/health_tracker.h"
#include "supervisor/policies.h"

#include <gtest/gtest.h>

namespace hearth::health {
namespace {

using State = HealthTracker::State;
using supervisor::may_eject;

TEST(HealthTracker, StartsUnknown) {
  HealthTracker t(3, 2);
  EXPECT_EQ(t.state(), State::Unknown);
  EXPECT_EQ(t.consecutive_failures(), 0u);
}

TEST(HealthTracker, UnhealthyOnlyAfterThresholdConsecutiveFailures) {
  HealthTracker t(3, 1);
  EXPECT_EQ(t.record(false), State::Unknown);
  EXPECT_EQ(t.record(false), State::Unknown);
  EXPECT_EQ(t.consecutive_failures(), 2u);
  EXPECT_EQ(t.record(false), State::Unhealthy);
  EXPECT_EQ(t.consecutive_failures(), 3u);
}

TEST(HealthTracker, AGoodCheckResetsTheFailureRun) {
  HealthTracker t(3, 5);
  t.record(false);
  t.record(false);
  t.record(true);
  EXPECT_EQ(t.consecutive_failures(), 0u);
  EXPECT_EQ(t.record(false), State::Unknown);
  EXPECT_EQ(t.record(false), State::Unknown);
  EXPECT_EQ(t.record(false), State::Unhealthy);
}

TEST(HealthTracker, HealthyAfterHealthyThresholdGoodChecks) {
  HealthTracker t(2, 3);
  EXPECT_EQ(t.record(true), State::Unknown);
  EXPECT_EQ(t.record(true), State::Unknown);
  EXPECT_EQ(t.record(true), State::Healthy);
}

TEST(HealthTracker, RecoversFromUnhealthyOnlyAfterHealthyThreshold) {
  HealthTracker t(1, 2);
  EXPECT_EQ(t.record(false), State::Unhealthy);
  EXPECT_EQ(t.record(true), State::Unhealthy);  // one good check is not enough
  EXPECT_EQ(t.record(false), State::Unhealthy);
  EXPECT_EQ(t.record(true), State::Unhealthy);
  EXPECT_EQ(t.record(true), State::Healthy);
}

TEST(HealthTracker, HealthyGoesUnhealthyAfterThresholdFailures) {
  HealthTracker t(2, 1);
  EXPECT_EQ(t.record(true), State::Healthy);
  EXPECT_EQ(t.record(false), State::Healthy);
  EXPECT_EQ(t.record(false), State::Unhealthy);
}

TEST(HealthTracker, ZeroThresholdsMeanOne) {
  HealthTracker t(0, 0);
  EXPECT_EQ(t.record(false), State::Unhealthy);
  EXPECT_EQ(t.record(true), State::Healthy);
}

TEST(MayEject, NeverMoreThanHalf) {
  // One worker: ejecting it would leave none (at most half of 1 is 0).
  EXPECT_TRUE(may_eject(0, 1));  // one may always go
  EXPECT_TRUE(may_eject(0, 2));
  EXPECT_FALSE(may_eject(1, 2));
  EXPECT_TRUE(may_eject(0, 3));
  EXPECT_FALSE(may_eject(1, 3));
  EXPECT_TRUE(may_eject(1, 4));
  EXPECT_FALSE(may_eject(2, 4));
  EXPECT_TRUE(may_eject(4, 10));
  EXPECT_FALSE(may_eject(5, 10));
  EXPECT_FALSE(may_eject(0, 0));
}

}  // namespace
}  // namespace hearth::health
