// Slot indices for recycled workers: bounded by the most workers live at once.
#include "metrics/series_slots.h"

#include <gtest/gtest.h>

namespace hearth::metrics {
namespace {

using Slots = std::vector<std::size_t>;

TEST(SeriesSlots, FirstIdsTakeSlotsInOrder) {
  SeriesSlots s;
  EXPECT_EQ(s.update({7, 9}), (Slots{0, 1}));
  EXPECT_EQ(s.size(), 2u);
}

TEST(SeriesSlots, AnIdKeepsItsSlotWhileItLives) {
  SeriesSlots s;
  s.update({1, 2, 3});
  EXPECT_EQ(s.update({3, 1, 2}), (Slots{2, 0, 1}));
  EXPECT_EQ(s.update({2, 3}), (Slots{1, 2}));  // 1 gone: 2 and 3 keep theirs
}

TEST(SeriesSlots, ARecycledWorkerTakesTheFreedSlot) {
  SeriesSlots s;
  s.update({1, 2});
  EXPECT_EQ(s.update({2, 3}), (Slots{1, 0}));  // 3 replaces 1 in slot 0
  EXPECT_EQ(s.update({4, 5}), (Slots{0, 1}));
}

TEST(SeriesSlots, ThousandsOfRecycledWorkersStayWithinTheMostLiveAtOnce) {
  SeriesSlots s;
  int next = 1;
  std::vector<int> live{next++, next++, next++};
  s.update(live);
  for (int round = 0; round < 5000; ++round) {
    live[static_cast<std::size_t>(round % 3)] = next++;  // max_requests recycles one at a time
    if (round % 100 == 0) live.push_back(next++);        // a reload's surge: one more, briefly
    for (std::size_t slot : s.update(live)) EXPECT_LT(slot, 4u);
    if (live.size() > 3) live.pop_back();
  }
  EXPECT_EQ(s.size(), 4u);
}

TEST(SeriesSlots, NoLiveIdsFreesEverySlot) {
  SeriesSlots s;
  s.update({1, 2});
  EXPECT_TRUE(s.update({}).empty());
  EXPECT_EQ(s.update({8}), (Slots{0}));
}

}  // namespace
}  // namespace hearth::metrics
