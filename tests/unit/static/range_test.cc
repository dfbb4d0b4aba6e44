// Single byte ranges (static/range.h).
#include "static/range.h"

#include <gtest/gtest.h>

namespace hearth::statics {
namespace {

using K = ByteRange::Kind;

TEST(Range, FirstLastOpenAndSuffix) {
  ByteRange r = parse_range("bytes=0-99", 1000);
  EXPECT_EQ(r.kind, K::Partial);
  EXPECT_EQ(r.first, 0u);
  EXPECT_EQ(r.last, 99u);
  EXPECT_EQ(r.length(), 100u);
  r = parse_range("bytes=990-", 1000);
  EXPECT_EQ(r.kind, K::Partial);
  EXPECT_EQ(r.first, 990u);
  EXPECT_EQ(r.last, 999u);
  r = parse_range("bytes=-10", 1000);
  EXPECT_EQ(r.first, 990u);
  EXPECT_EQ(r.last, 999u);
  r = parse_range("bytes=-5000", 1000);  // more than the file: all of it
  EXPECT_EQ(r.kind, K::Partial);
  EXPECT_EQ(r.first, 0u);
  r = parse_range("bytes=500-5000", 1000);  // clamped
  EXPECT_EQ(r.last, 999u);
  r = parse_range(" Bytes = 1-2 ", 10);
  EXPECT_EQ(r.kind, K::Partial);
  EXPECT_EQ(r.first, 1u);
}

TEST(Range, Unsatisfiable) {
  EXPECT_EQ(parse_range("bytes=1000-", 1000).kind, K::Unsatisfiable);
  EXPECT_EQ(parse_range("bytes=1000-2000", 1000).kind, K::Unsatisfiable);
  EXPECT_EQ(parse_range("bytes=-0", 1000).kind, K::Unsatisfiable);
  EXPECT_EQ(parse_range("bytes=0-", 0).kind, K::Unsatisfiable);
  EXPECT_EQ(parse_range("bytes=-1", 0).kind, K::Unsatisfiable);
}

TEST(Range, IgnoredWhenInvalidOrMultiple) {
  for (const char* h : {"", "bytes=", "bytes=-", "bytes=a-b", "bytes=5-3", "items=0-1", "bytes 0-1", "bytes=0-1,5-6",
                        "bytes=99999999999999999999-", "bytes=1-2-3"}) {
    EXPECT_EQ(parse_range(h, 1000).kind, K::Full) << h;
  }
}

}  // namespace
}  // namespace hearth::statics
