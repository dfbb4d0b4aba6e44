#include "proxy/request_queue.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "common/clock.h"

namespace hearth::proxy {
namespace {

using ms = std::chrono::milliseconds;

TEST(RequestQueue, Fifo) {
  ManualClock clock;
  RequestQueue<std::string> q(10, ms{1000});
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.pop(clock.now()));
  for (std::string s : {"a", "b", "c"}) ASSERT_TRUE(q.push(std::move(s), clock.now()));
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.pop(clock.now()), "a");
  ASSERT_TRUE(q.push(std::string("d"), clock.now()));
  EXPECT_EQ(q.pop(clock.now()), "b");
  EXPECT_EQ(q.pop(clock.now()), "c");
  EXPECT_EQ(q.pop(clock.now()), "d");
  EXPECT_FALSE(q.pop(clock.now()));
  EXPECT_TRUE(q.empty());
}

TEST(RequestQueue, CapacityRejectsAndLeavesItemUntouched) {
  ManualClock clock;
  RequestQueue<std::unique_ptr<int>> q(2, ms{1000});
  EXPECT_EQ(q.capacity(), 2u);
  auto a = std::make_unique<int>(1);
  auto b = std::make_unique<int>(2);
  auto c = std::make_unique<int>(3);
  ASSERT_TRUE(q.push(std::move(a), clock.now()));
  ASSERT_TRUE(q.push(std::move(b), clock.now()));
  EXPECT_FALSE(q.push(std::move(c), clock.now()));
  ASSERT_NE(c, nullptr);  // not moved from
  EXPECT_EQ(*c, 3);
  EXPECT_EQ(q.size(), 2u);
  // Room again after a pop.
  EXPECT_EQ(**q.pop(clock.now()), 1);
  EXPECT_TRUE(q.push(std::move(c), clock.now()));
  EXPECT_EQ(c, nullptr);
}

TEST(RequestQueue, ZeroCapacityRejectsEverything) {
  ManualClock clock;
  RequestQueue<int> q(0, ms{1000});
  int x = 5;
  EXPECT_FALSE(q.push(std::move(x), clock.now()));
  EXPECT_TRUE(q.empty());
}

TEST(RequestQueue, ExpireReturnsThePrefixPastItsDeadline) {
  ManualClock clock;
  RequestQueue<int> q(10, ms{100});
  ASSERT_TRUE(q.push(1, clock.now()));  // deadline 100
  clock.advance(ms{30});
  ASSERT_TRUE(q.push(2, clock.now()));  // deadline 130
  clock.advance(ms{30});
  ASSERT_TRUE(q.push(3, clock.now()));  // deadline 160

  clock.advance(ms{39});  // t=99
  EXPECT_TRUE(q.expire(clock.now()).empty());
  clock.advance(ms{1});  // t=100: a deadline equal to now has passed
  EXPECT_EQ(q.expire(clock.now()), (std::vector<int>{1}));
  clock.advance(ms{100});  // t=200
  EXPECT_EQ(q.expire(clock.now()), (std::vector<int>{2, 3}));
  EXPECT_TRUE(q.empty());
  EXPECT_TRUE(q.expire(clock.now()).empty());
}

TEST(RequestQueue, NextDeadlineIsTheOldestItems) {
  ManualClock clock;
  RequestQueue<int> q(10, ms{250});
  EXPECT_FALSE(q.next_deadline());
  TimePoint t0 = clock.now();
  ASSERT_TRUE(q.push(1, clock.now()));
  clock.advance(ms{10});
  ASSERT_TRUE(q.push(2, clock.now()));
  ASSERT_TRUE(q.next_deadline());
  EXPECT_EQ(*q.next_deadline(), t0 + ms{250});
  q.pop(clock.now());
  EXPECT_EQ(*q.next_deadline(), t0 + ms{260});
  q.pop(clock.now());
  EXPECT_FALSE(q.next_deadline());
}

TEST(RequestQueue, WaitedTime) {
  ManualClock clock;
  RequestQueue<int> q(10, ms{1000});
  ASSERT_TRUE(q.push(1, clock.now()));
  clock.advance(ms{40});
  ASSERT_TRUE(q.push(2, clock.now()));
  clock.advance(ms{17});
  ms waited{-1};
  EXPECT_EQ(q.pop(clock.now(), &waited), 1);
  EXPECT_EQ(waited, ms{57});
  EXPECT_EQ(q.pop(clock.now(), &waited), 2);
  EXPECT_EQ(waited, ms{17});
  waited = ms{-1};
  EXPECT_FALSE(q.pop(clock.now(), &waited));
  EXPECT_EQ(waited, ms{-1});  // untouched when empty
}

TEST(RequestQueue, RemoveIfKeepsOrderOfTheRest) {
  ManualClock clock;
  RequestQueue<int> q(10, ms{1000});
  for (int i = 1; i <= 6; ++i) ASSERT_TRUE(q.push(std::move(i), clock.now()));
  EXPECT_EQ(q.remove_if([](int v) { return v % 2 == 0; }), 3u);
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.remove_if([](int) { return false; }), 0u);
  EXPECT_EQ(q.pop(clock.now()), 1);
  EXPECT_EQ(q.pop(clock.now()), 3);
  EXPECT_EQ(q.pop(clock.now()), 5);
}

TEST(RequestQueue, RemoveIfKeepsDeadlines) {
  ManualClock clock;
  RequestQueue<int> q(10, ms{100});
  TimePoint t0 = clock.now();
  ASSERT_TRUE(q.push(1, clock.now()));
  clock.advance(ms{50});
  ASSERT_TRUE(q.push(2, clock.now()));
  q.remove_if([](int v) { return v == 1; });
  EXPECT_EQ(*q.next_deadline(), t0 + ms{150});
  clock.advance(ms{60});  // t=110: item 1 would have expired, item 2 not yet
  EXPECT_TRUE(q.expire(clock.now()).empty());
  clock.advance(ms{40});
  EXPECT_EQ(q.expire(clock.now()), (std::vector<int>{2}));
}

}  // namespace
}  // namespace hearth::proxy
