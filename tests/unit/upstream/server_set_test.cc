// ServerSet: round robin, passive ejection, active checks, retries skipping
// the servers already tried, and the fallback when nothing is usable.
#include "upstream/server_set.h"

#include <gtest/gtest.h>

namespace hearth::upstream {
namespace {

using std::chrono::milliseconds;
constexpr std::uint64_t kNone = 0;
std::uint64_t bit(std::size_t i) { return std::uint64_t{1} << i; }

TEST(ServerSet, RoundRobinOverEveryServer) {
  ServerSet s(3, {milliseconds(5000)});
  TimePoint now{};
  EXPECT_EQ(s.pick(now, kNone), 0u);
  EXPECT_EQ(s.pick(now, kNone), 1u);
  EXPECT_EQ(s.pick(now, kNone), 2u);
  EXPECT_EQ(s.pick(now, kNone), 0u);
}

TEST(ServerSet, AFailedServerIsEjectedForAWhileThenBack) {
  ServerSet s(3, {milliseconds(5000)});
  TimePoint now{};
  s.on_failure(1, now);
  EXPECT_FALSE(s.usable(1, now));
  EXPECT_EQ(s.usable_count(now), 2u);
  for (int k = 0; k < 6; ++k) EXPECT_NE(s.pick(now, kNone), 1u);
  EXPECT_TRUE(s.ejected(1, now + milliseconds(4999)));
  EXPECT_FALSE(s.ejected(1, now + milliseconds(5000)));
  bool seen = false;
  for (int k = 0; k < 3; ++k) seen = seen || s.pick(now + milliseconds(5000), kNone) == 1u;
  EXPECT_TRUE(seen);
  EXPECT_EQ(s.failures(1), 1u);
}

TEST(ServerSet, ARetrySkipsTheServersTried) {
  ServerSet s(3, {milliseconds(5000)});
  TimePoint now{};
  auto first = s.pick(now, kNone);
  ASSERT_TRUE(first);
  s.on_failure(*first, now);
  std::uint64_t tried = bit(*first);
  auto second = s.pick(now, tried);
  ASSERT_TRUE(second);
  EXPECT_NE(*second, *first);
  tried |= bit(*second);
  auto third = s.pick(now, tried);
  ASSERT_TRUE(third);
  tried |= bit(*third);
  EXPECT_EQ(s.pick(now, tried), std::nullopt);  // all three tried: the caller answers 502
}

TEST(ServerSet, ActiveChecksTakeAServerOutUntilOnePasses) {
  ServerSet s(2, {milliseconds(5000)});
  TimePoint now{};
  s.set_checked(0, ServerSet::Health::Down);
  for (int k = 0; k < 4; ++k) EXPECT_EQ(s.pick(now, kNone), 1u);
  s.set_checked(0, ServerSet::Health::Up);
  EXPECT_TRUE(s.usable(0, now));
}

TEST(ServerSet, APassingCheckEndsAnEjection) {
  ServerSet s(2, {milliseconds(5000)});
  TimePoint now{};
  s.on_failure(0, now);
  s.set_checked(0, ServerSet::Health::Up);
  EXPECT_TRUE(s.usable(0, now));
}

TEST(ServerSet, NothingUsableFallsBackToTheUntried) {
  ServerSet s(2, {milliseconds(5000)});
  TimePoint now{};
  s.on_failure(0, now);
  s.set_checked(1, ServerSet::Health::Down);
  ASSERT_EQ(s.usable_count(now), 0u);
  auto a = s.pick(now, kNone);
  ASSERT_TRUE(a);
  auto b = s.pick(now, bit(*a));
  ASSERT_TRUE(b);
  EXPECT_NE(*a, *b);
  EXPECT_EQ(s.pick(now, bit(0) | bit(1)), std::nullopt);
}

TEST(ServerSet, OneServer) {
  ServerSet s(1, {milliseconds(1000)});
  TimePoint now{};
  EXPECT_EQ(s.pick(now, kNone), 0u);
  s.on_failure(0, now);
  EXPECT_EQ(s.pick(now, kNone), 0u);  // the fallback: better a try than a 502 for sure
  EXPECT_EQ(s.pick(now, bit(0)), std::nullopt);
  s.on_success(0);
  EXPECT_TRUE(s.usable(0, now));
}

}  // namespace
}  // namespace hearth::upstream
