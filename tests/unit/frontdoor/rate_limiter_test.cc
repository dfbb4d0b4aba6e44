#include "frontdoor/rate_limiter.h"

#include <gtest/gtest.h>

namespace hearth::frontdoor {
namespace {

using std::chrono::milliseconds;

TEST(RateLimiter, BurstPlusOneAtOnceThenTheRate) {
  ManualClock clock;
  RateLimiter rl(10.0, 4);  // 10/s, burst 4: 5 at once
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(rl.check("a", clock.now()).allowed) << i;
  auto d = rl.check("a", clock.now());
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, milliseconds(100));
  clock.advance(milliseconds(99));
  EXPECT_FALSE(rl.check("a", clock.now()).allowed);
  clock.advance(milliseconds(1));
  EXPECT_TRUE(rl.check("a", clock.now()).allowed);
  EXPECT_FALSE(rl.check("a", clock.now()).allowed);
}

TEST(RateLimiter, KeysAreIndependent) {
  ManualClock clock;
  RateLimiter rl(1.0, 0);
  EXPECT_TRUE(rl.check("a", clock.now()).allowed);
  EXPECT_FALSE(rl.check("a", clock.now()).allowed);
  EXPECT_TRUE(rl.check("b", clock.now()).allowed);
  EXPECT_EQ(rl.keys(), 2u);
}

TEST(RateLimiter, RetryAfterCountsPartialTokens) {
  ManualClock clock;
  RateLimiter rl(1.0, 0);  // "60/m"
  EXPECT_TRUE(rl.check("a", clock.now()).allowed);
  clock.advance(milliseconds(250));
  auto d = rl.check("a", clock.now());
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, milliseconds(750));
  clock.advance(milliseconds(750));
  EXPECT_TRUE(rl.check("a", clock.now()).allowed);
}

TEST(RateLimiter, LimitedRequestsDoNotBorrow) {
  // A client hammering while limited gets its next token on time, not later.
  ManualClock clock;
  RateLimiter rl(2.0, 0);
  EXPECT_TRUE(rl.check("a", clock.now()).allowed);
  for (int i = 0; i < 10; ++i) {
    clock.advance(milliseconds(40));
    EXPECT_FALSE(rl.check("a", clock.now()).allowed);
  }
  clock.advance(milliseconds(100));  // 500 ms after the first
  EXPECT_TRUE(rl.check("a", clock.now()).allowed);
}

TEST(RateLimiter, IdleBucketsAreDropped) {
  ManualClock clock;
  RateLimiter rl(10.0, 1);
  for (int i = 0; i < 50; ++i) EXPECT_TRUE(rl.check("k" + std::to_string(i), clock.now()).allowed);
  EXPECT_EQ(rl.keys(), 50u);
  clock.advance(milliseconds(200));  // every bucket is full again
  for (int i = 0; i < 25; ++i) (void)rl.check("new", clock.now());
  // Each check drops up to two idle buckets from the old end: 50 gone, "new" stays.
  EXPECT_EQ(rl.keys(), 1u);
  EXPECT_EQ(rl.evicted_active(), 0u);
}

TEST(RateLimiter, BoundedKeysEvictTheLeastRecent) {
  ManualClock clock;
  RateLimiter rl(1.0, 0, 3);
  EXPECT_TRUE(rl.check("a", clock.now()).allowed);
  EXPECT_TRUE(rl.check("b", clock.now()).allowed);
  EXPECT_TRUE(rl.check("c", clock.now()).allowed);
  EXPECT_FALSE(rl.check("a", clock.now()).allowed);  // a is now the most recent; b the least
  EXPECT_TRUE(rl.check("d", clock.now()).allowed);   // evicts b
  EXPECT_EQ(rl.keys(), 3u);
  EXPECT_EQ(rl.evicted_active(), 1u);
  EXPECT_FALSE(rl.check("a", clock.now()).allowed);  // a kept its state
  EXPECT_TRUE(rl.check("b", clock.now()).allowed);   // b starts over (the cap's price)
}

TEST(RateLimiter, ManyKeysStayWithinTheCap) {
  ManualClock clock;
  RateLimiter rl(1.0, 0, 1000);
  for (int i = 0; i < 20000; ++i) (void)rl.check(std::to_string(i), clock.now());
  EXPECT_EQ(rl.keys(), 1000u);
}

}  // namespace
}  // namespace hearth::frontdoor
