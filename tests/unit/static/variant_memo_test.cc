#include "static/variant_memo.h"

#include <gtest/gtest.h>

namespace hearth::statics {
namespace {

using std::chrono::milliseconds;

TEST(VariantMemo, RemembersAbsenceForTheTtlOnly) {
  VariantMemo memo(milliseconds(1000), 16);
  TimePoint t0{};
  EXPECT_FALSE(memo.known_absent("app.js", t0));
  memo.remember_absent("app.js", t0);
  EXPECT_TRUE(memo.known_absent("app.js", t0));
  EXPECT_TRUE(memo.known_absent("app.js", t0 + milliseconds(999)));
  EXPECT_FALSE(memo.known_absent("app.js", t0 + milliseconds(1000)));  // probe again
  EXPECT_FALSE(memo.known_absent("other.js", t0));
}

TEST(VariantMemo, RememberingAgainExtends) {
  VariantMemo memo(milliseconds(1000), 16);
  TimePoint t0{};
  memo.remember_absent("a", t0);
  memo.remember_absent("a", t0 + milliseconds(900));
  EXPECT_TRUE(memo.known_absent("a", t0 + milliseconds(1500)));
  EXPECT_EQ(memo.size(), 1u);
}

TEST(VariantMemo, ForgetDropsTheEntry) {
  VariantMemo memo(milliseconds(1000), 16);
  TimePoint t0{};
  memo.remember_absent("a", t0);
  memo.forget("a");
  EXPECT_FALSE(memo.known_absent("a", t0));
  memo.forget("never-seen");  // harmless
}

TEST(VariantMemo, FullMemoDropsExpiredEntriesFirst) {
  VariantMemo memo(milliseconds(1000), 3);
  TimePoint t0{};
  memo.remember_absent("old1", t0);
  memo.remember_absent("old2", t0);
  memo.remember_absent("fresh", t0 + milliseconds(800));
  // Full; at t0+1200 old1 and old2 have expired, fresh has not.
  memo.remember_absent("new", t0 + milliseconds(1200));
  EXPECT_EQ(memo.size(), 2u);
  EXPECT_TRUE(memo.known_absent("fresh", t0 + milliseconds(1200)));
  EXPECT_TRUE(memo.known_absent("new", t0 + milliseconds(1200)));
}

TEST(VariantMemo, FullMemoWithNothingExpiredStartsOver) {
  VariantMemo memo(milliseconds(1000), 2);
  TimePoint t0{};
  memo.remember_absent("a", t0);
  memo.remember_absent("b", t0);
  memo.remember_absent("c", t0);
  EXPECT_EQ(memo.size(), 1u);  // bounded: the memo never outgrows max_entries
  EXPECT_TRUE(memo.known_absent("c", t0));
  EXPECT_FALSE(memo.known_absent("a", t0));
}

TEST(VariantMemo, ZeroEntriesRemembersNothing) {
  VariantMemo memo(milliseconds(1000), 0);
  memo.remember_absent("a", TimePoint{});
  EXPECT_FALSE(memo.known_absent("a", TimePoint{}));
  EXPECT_EQ(memo.size(), 0u);
}

}  // namespace
}  // namespace hearth::statics
