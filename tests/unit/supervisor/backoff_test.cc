#include "supervisor/backoff.h"

#include <gtest/gtest.h>

#include <vector>

namespace hearth::supervisor {
namespace {

using ms = std::chrono::milliseconds;

TEST(Backoff, FirstEarlyDeathRespawnsAtOnceThenDoubles) {
  Backoff b(Backoff::Params{ms{100}, ms{1000}, ms{10000}, 5});
  std::vector<int64_t> got;
  for (int i = 0; i < 8; ++i) got.push_back(b.on_exit(ms{50}).count());
  EXPECT_EQ(got, (std::vector<int64_t>{0, 100, 200, 400, 800, 1000, 1000, 1000}));
  EXPECT_EQ(b.streak(), 8u);
}

TEST(Backoff, DefaultParams) {
  Backoff b;
  EXPECT_EQ(b.on_exit(ms{0}), ms{0});
  EXPECT_EQ(b.on_exit(ms{0}), ms{100});
  EXPECT_EQ(b.on_exit(ms{9999}), ms{200});  // just short of healthy
  for (int i = 0; i < 20; ++i) b.on_exit(ms{0});
  EXPECT_EQ(b.on_exit(ms{0}), ms{30000});  // capped at the default max
}

TEST(Backoff, CapHoldsForVeryLongStreaks) {
  Backoff b(Backoff::Params{ms{100}, ms{5000}, ms{10000}, 5});
  for (int i = 0; i < 100; ++i) {
    auto d = b.on_exit(ms{1});
    EXPECT_LE(d, ms{5000});
    EXPECT_GE(d, ms{0});
  }
  EXPECT_EQ(b.on_exit(ms{1}), ms{5000});
}

TEST(Backoff, HealthyUptimeResets) {
  Backoff b(Backoff::Params{ms{100}, ms{1000}, ms{10000}, 5});
  b.on_exit(ms{10});
  b.on_exit(ms{10});
  EXPECT_EQ(b.on_exit(ms{10}), ms{200});
  EXPECT_EQ(b.on_exit(ms{10000}), ms{0});  // exactly healthy_uptime counts as healthy
  EXPECT_EQ(b.streak(), 0u);
  EXPECT_EQ(b.on_exit(ms{10}), ms{0});  // the sequence starts over
  EXPECT_EQ(b.on_exit(ms{10}), ms{100});
}

TEST(Backoff, CrashLoopAfterN) {
  Backoff b(Backoff::Params{ms{100}, ms{1000}, ms{10000}, 3});
  EXPECT_FALSE(b.crash_loop());
  b.on_exit(ms{1});
  b.on_exit(ms{1});
  EXPECT_FALSE(b.crash_loop());
  b.on_failed_start();
  EXPECT_TRUE(b.crash_loop());
  EXPECT_EQ(b.streak(), 3u);
  b.on_exit(ms{60000});
  EXPECT_FALSE(b.crash_loop());
}

TEST(Backoff, FailedStartCountsAsEarlyDeathAndResetClears) {
  Backoff b(Backoff::Params{ms{250}, ms{10000}, ms{10000}, 5});
  EXPECT_EQ(b.on_failed_start(), ms{0});
  EXPECT_EQ(b.on_failed_start(), ms{250});
  EXPECT_EQ(b.on_failed_start(), ms{500});
  b.reset();
  EXPECT_EQ(b.streak(), 0u);
  EXPECT_EQ(b.on_failed_start(), ms{0});
}

}  // namespace
}  // namespace hearth::supervisor
