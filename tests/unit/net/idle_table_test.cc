#include "net/idle_table.h"

#include <gtest/gtest.h>

#include <memory>
#include <cstring>
#include <string>
#include <vector>

#include "net/slab_pool.h"

namespace hearth::net {
namespace {

using std::chrono::milliseconds;

TimePoint at(int ms) { return TimePoint{} + milliseconds(ms); }

TEST(IdleTable, ExpiresInDeadlineOrderNotParkOrder) {
  IdleTable<std::string> t;
  EXPECT_TRUE(t.park(7, at(300), "c"));
  EXPECT_TRUE(t.park(5, at(100), "a"));
  EXPECT_TRUE(t.park(6, at(200), "b"));
  EXPECT_EQ(t.next_deadline(), at(100));
  EXPECT_TRUE(t.expire(at(99)).empty());
  auto out = t.expire(at(200));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].first, 5);
  EXPECT_EQ(out[0].second, "a");
  EXPECT_EQ(out[1].first, 6);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.next_deadline(), at(300));
}

TEST(IdleTable, UnparkReturnsPayloadAndDeadlineAndNeverExpires) {
  IdleTable<std::unique_ptr<int>> t;
  t.park(3, at(100), std::make_unique<int>(42));
  t.park(4, at(150), std::make_unique<int>(43));
  auto got = t.unpark(3);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->first, at(100));
  EXPECT_EQ(*got->second, 42);
  EXPECT_FALSE(t.contains(3));
  EXPECT_FALSE(t.unpark(3).has_value());
  // The stale deadline record of fd 3 is skipped.
  EXPECT_EQ(t.next_deadline(), at(150));
  auto out = t.expire(at(1000));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].first, 4);
  EXPECT_EQ(t.next_deadline(), TimePoint::max());
  EXPECT_EQ(t.deadline_records(), 0u);
}

TEST(IdleTable, ReparkedDescriptorKeepsOnlyItsNewDeadline) {
  // A descriptor number is reused: parked, taken back, parked again later.
  IdleTable<int> t;
  t.park(9, at(100), 1);
  ASSERT_TRUE(t.unpark(9).has_value());
  t.park(9, at(500), 2);
  EXPECT_TRUE(t.expire(at(100)).empty());  // the old record is stale
  EXPECT_TRUE(t.contains(9));
  auto out = t.expire(at(500));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].second, 2);
}

TEST(IdleTable, ParkingTwiceIsRefused) {
  IdleTable<int> t;
  EXPECT_TRUE(t.park(1, at(100), 1));
  EXPECT_FALSE(t.park(1, at(50), 2));
  EXPECT_EQ(t.next_deadline(), at(100));
  EXPECT_EQ(t.unpark(1)->second, 1);
}

TEST(IdleTable, TakeAllEmptiesTheTable) {
  IdleTable<int> t;
  t.park(1, at(100), 10);
  t.park(2, at(50), 20);
  auto all = t.take_all();
  EXPECT_EQ(all.size(), 2u);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.next_deadline(), TimePoint::max());
  EXPECT_TRUE(t.expire(at(1000)).empty());
}

TEST(SlabPool, ReusesBlocksAndUnmapsEmptySlabsButOne) {
  SlabPool pool(800);
  std::vector<void*> blocks;
  for (int i = 0; i < 500; ++i) {
    void* p = pool.allocate();
    ASSERT_EQ(reinterpret_cast<uintptr_t>(p) % 16, 0u);
    std::memset(p, 0xab, 800);
    blocks.push_back(p);
  }
  EXPECT_EQ(pool.live(), 500u);
  const std::size_t mapped = pool.mapped_slabs();
  EXPECT_GE(mapped, 500u * 816 / SlabPool::kSlabBytes);
  void* first = blocks[0];
  pool.deallocate(first);
  EXPECT_EQ(pool.allocate(), first);  // a freed block is used again
  for (void* p : blocks) pool.deallocate(p);
  EXPECT_EQ(pool.live(), 0u);
  EXPECT_EQ(pool.mapped_slabs(), 1u);  // one empty slab kept
  void* again = pool.allocate();
  EXPECT_EQ(pool.mapped_slabs(), 1u);
  pool.deallocate(again);
}

}  // namespace
}  // namespace hearth::net
