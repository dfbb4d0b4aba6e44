#include "http/spool.h"

#include <gtest/gtest.h>

#include <string>

namespace hearth::http {
namespace {

std::string read_all(const Spool& s) {
  std::string out(s.size(), '\0');
  uint64_t off = 0;
  while (off < s.size()) {
    long n = s.read_at(off, out.data() + off, 7);  // odd size: exercises offsets
    if (n <= 0) break;
    off += static_cast<uint64_t>(n);
  }
  out.resize(off);
  return out;
}

TEST(Spool, StaysInMemoryUpToLimit) {
  Spool s(10, "");
  ASSERT_FALSE(s.append("hello"));
  ASSERT_FALSE(s.append("world"));
  EXPECT_TRUE(s.in_memory());
  EXPECT_EQ(s.size(), 10u);
  EXPECT_EQ(s.memory(), "helloworld");
  EXPECT_EQ(read_all(s), "helloworld");
}

TEST(Spool, DefaultConstructedNeverSpills) {
  Spool s;
  ASSERT_FALSE(s.append(std::string(100000, 'x')));
  EXPECT_TRUE(s.in_memory());
  EXPECT_EQ(s.size(), 100000u);
}

TEST(Spool, SpillsBeyondLimitAndKeepsOrder) {
  Spool s(8, "/tmp");
  ASSERT_FALSE(s.append("12345"));
  ASSERT_FALSE(s.append("6789"));  // crosses the limit: spill
  EXPECT_FALSE(s.in_memory());
  ASSERT_FALSE(s.append("abc"));
  EXPECT_EQ(s.size(), 12u);
  EXPECT_EQ(read_all(s), "123456789abc");
  char buf[4];
  EXPECT_EQ(s.read_at(10, buf, 4), 2);
  EXPECT_EQ(std::string(buf, 2), "bc");
  EXPECT_EQ(s.read_at(12, buf, 4), 0);
  EXPECT_EQ(s.read_at(100, buf, 4), 0);
}

TEST(Spool, ReadAtInMemory) {
  Spool s(100, "");
  ASSERT_FALSE(s.append("abcdef"));
  char buf[8];
  EXPECT_EQ(s.read_at(2, buf, 3), 3);
  EXPECT_EQ(std::string(buf, 3), "cde");
  EXPECT_EQ(s.read_at(4, buf, 8), 2);
  EXPECT_EQ(s.read_at(6, buf, 8), 0);
}

TEST(Spool, SpillFailureInMissingDirKeepsData) {
  Spool s(4, "/nonexistent-hearth-dir/deeper");
  ASSERT_FALSE(s.append("abc"));
  std::error_code ec = s.append("defg");
  EXPECT_TRUE(ec);
  EXPECT_TRUE(s.in_memory());
  EXPECT_EQ(s.size(), 3u);
  EXPECT_EQ(s.memory(), "abc");
}

TEST(Spool, SpillFailureWhenDirIsAFile) {
  Spool s(0, "/etc/hostname");
  EXPECT_TRUE(s.append("x"));
  EXPECT_EQ(s.size(), 0u);
}

TEST(Spool, MoveTransfersFile) {
  Spool a(2, "/tmp");
  ASSERT_FALSE(a.append("abcdef"));
  Spool b(std::move(a));
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(read_all(b), "abcdef");
  Spool c;
  c = std::move(b);
  EXPECT_EQ(read_all(c), "abcdef");
  c.clear();
  EXPECT_EQ(c.size(), 0u);
  EXPECT_TRUE(c.in_memory());
}

TEST(Spool, EmptyTempDirUsesTmp) {
  Spool s(1, "");
  ASSERT_FALSE(s.append("abc"));
  EXPECT_FALSE(s.in_memory());
  EXPECT_EQ(read_all(s), "abc");
}

}  // namespace
}  // namespace hearth::http
