// FileCache: an entry is used only for the same file (identity from stat),
// the bounds, and the settle rule for files modified just now.
#include "static/file_cache.h"

#include <gtest/gtest.h>

namespace hearth::statics {
namespace {

struct stat stat_of(uint64_t ino, uint64_t size, int64_t mtime_s, int64_t ctime_s = 100) {
  struct stat st {};
  st.st_mode = S_IFREG | 0644;
  st.st_dev = 1;
  st.st_ino = ino;
  st.st_size = static_cast<off_t>(size);
  st.st_mtim.tv_sec = mtime_s;
  st.st_ctim.tv_sec = ctime_s;
  return st;
}

CachedFile file_of(const struct stat& st, std::string body) {
  CachedFile f;
  f.id = FileIdentity::of(st);
  f.body = std::move(body);
  f.etag = "\"e\"";
  return f;
}

TEST(FileCache, AnEntryServesOnlyTheSameFile) {
  FileCache cache;
  const auto st = stat_of(7, 5, 50);
  ASSERT_NE(cache.insert("a.txt", file_of(st, "hello")), nullptr);
  EXPECT_NE(cache.find("a.txt"), nullptr);
  const CachedFile* hit = cache.validate("a.txt", st);
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit->body, "hello");
  EXPECT_EQ(cache.bytes(), 5u);

  // Each part of the identity on its own makes it another file: the entry is dropped.
  auto other_inode = stat_of(8, 5, 50);
  auto other_size = stat_of(7, 6, 50);
  auto other_mtime = st;
  other_mtime.st_mtim.tv_nsec = 1;
  auto other_ctime = stat_of(7, 5, 50, 101);
  auto other_dev = st;
  other_dev.st_dev = 2;
  auto directory = st;
  directory.st_mode = S_IFDIR | 0755;
  for (const auto& changed : {other_inode, other_size, other_mtime, other_ctime, other_dev, directory}) {
    ASSERT_NE(cache.insert("a.txt", file_of(st, "hello")), nullptr);
    EXPECT_EQ(cache.validate("a.txt", changed), nullptr);
    EXPECT_EQ(cache.find("a.txt"), nullptr);
    EXPECT_EQ(cache.bytes(), 0u);
  }
  EXPECT_EQ(cache.validate("missing", st), nullptr);
}

TEST(FileCache, BoundsDropEverythingBeforeAnInsertThatWouldPassThem) {
  FileCache cache(/*max_file=*/8, /*max_bytes=*/16, /*max_entries=*/3);
  EXPECT_TRUE(cache.fits(8));
  EXPECT_FALSE(cache.fits(9));
  EXPECT_EQ(cache.insert("big", file_of(stat_of(1, 9, 1), "123456789")), nullptr);
  ASSERT_NE(cache.insert("a", file_of(stat_of(1, 8, 1), "aaaaaaaa")), nullptr);
  ASSERT_NE(cache.insert("b", file_of(stat_of(2, 8, 1), "bbbbbbbb")), nullptr);
  EXPECT_EQ(cache.bytes(), 16u);
  ASSERT_NE(cache.insert("c", file_of(stat_of(3, 1, 1), "c")), nullptr);  // 17 bytes: all dropped first
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.bytes(), 1u);
  EXPECT_EQ(cache.find("a"), nullptr);
  ASSERT_NE(cache.insert("d", file_of(stat_of(4, 1, 1), "d")), nullptr);
  ASSERT_NE(cache.insert("e", file_of(stat_of(5, 1, 1), "e")), nullptr);
  EXPECT_EQ(cache.size(), 3u);
  ASSERT_NE(cache.insert("f", file_of(stat_of(6, 1, 1), "f")), nullptr);  // a fourth entry: all dropped first
  EXPECT_EQ(cache.size(), 1u);
  // Replacing an entry frees its bytes first.
  ASSERT_NE(cache.insert("f", file_of(stat_of(6, 2, 2), "ff")), nullptr);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.bytes(), 2u);
  cache.erase("f");
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.bytes(), 0u);
}

TEST(FileCache, OnlySettledFilesAreKept) {
  const int64_t now = 1000 * FileCache::kSettleNs;
  auto st = stat_of(1, 1, 999);  // modified exactly one second ago
  EXPECT_TRUE(FileCache::settled(FileIdentity::of(st), now));
  st.st_mtim.tv_nsec = 1;
  EXPECT_FALSE(FileCache::settled(FileIdentity::of(st), now));
  EXPECT_FALSE(FileCache::settled(FileIdentity::of(stat_of(1, 1, 1000)), now));
}

}  // namespace
}  // namespace hearth::statics
