#include "net/read_buffer_allocator.h"

#include <gtest/gtest.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

namespace hearth::net {
namespace {

using Alloc = ReadBufferAllocator<char>;

TEST(ReadBufferAllocator, AFreedHeadBufferIsTakenAgainByTheNextRequest) {
  Alloc a;
  char* p = a.allocate(Alloc::kBlock);
  std::memset(p, 'x', Alloc::kBlock);  // the whole block is usable
  a.deallocate(p, Alloc::kBlock);
  char* q = a.allocate(100);  // smaller requests are rounded up to a block
  EXPECT_EQ(q, p);
  std::memset(q, 'y', Alloc::kBlock);
  a.deallocate(q, 100);
}

TEST(ReadBufferAllocator, KeepsAtMostAFewBlocksPerThread) {
  Alloc a;
  std::vector<char*> held;
  for (int i = 0; i < Alloc::kKept + 3; ++i) held.push_back(a.allocate(Alloc::kBlock));
  const std::set<char*> first(held.begin(), held.end());
  EXPECT_EQ(first.size(), held.size());
  for (char* p : held) a.deallocate(p, Alloc::kBlock);  // the extra ones go back to malloc
  // Exactly kKept come back from the cache, in any order; the rest are new or
  // whatever malloc hands out, but never one handed out twice.
  std::vector<char*> again;
  for (int i = 0; i < Alloc::kKept + 3; ++i) again.push_back(a.allocate(Alloc::kBlock));
  EXPECT_EQ(std::set<char*>(again.begin(), again.end()).size(), again.size());
  int from_cache = 0;
  for (int i = 0; i < Alloc::kKept; ++i) from_cache += first.count(again[static_cast<std::size_t>(i)]) ? 1 : 0;
  EXPECT_EQ(from_cache, Alloc::kKept);
  for (char* p : again) a.deallocate(p, Alloc::kBlock);
}

TEST(ReadBufferAllocator, LargeBuffersAreNotKept) {
  Alloc a;
  char* kept = a.allocate(Alloc::kBlock);
  a.deallocate(kept, Alloc::kBlock);  // now the top of this thread's cache
  char* big = a.allocate(64 * 1024);
  std::memset(big, 'z', 64 * 1024);
  a.deallocate(big, 64 * 1024);  // back to malloc, not onto the cache
  char* small = a.allocate(Alloc::kBlock);
  EXPECT_EQ(small, kept);  // had the 64 KiB block been kept, it would be on top
  a.deallocate(small, Alloc::kBlock);
}

TEST(ReadBufferAllocator, EachThreadHasItsOwnBlocks) {
  Alloc a;
  char* mine = a.allocate(Alloc::kBlock);
  a.deallocate(mine, Alloc::kBlock);
  char* theirs = nullptr;
  std::thread([&] {
    Alloc b;
    theirs = b.allocate(Alloc::kBlock);
    b.deallocate(theirs, Alloc::kBlock);
  }).join();  // that thread's cache frees its block when the thread ends
  char* again = a.allocate(Alloc::kBlock);
  EXPECT_EQ(again, mine);
  a.deallocate(again, Alloc::kBlock);
}

TEST(ReadBufferAllocator, WorksAsTheFlatBufferOfAConnection) {
  // The pattern of HttpConnection: head-sized reads, a body-sized read, the
  // buffer released between requests; contents survive growth.
  boost::beast::basic_flat_buffer<Alloc> buf;
  for (int round = 0; round < 3; ++round) {
    auto mb = buf.prepare(2 * 1024);
    std::memcpy(mb.data(), "GET / HTTP/1.1\r\n", 16);
    buf.commit(16);
    auto more = buf.prepare(64 * 1024);  // grows past a block: copied into a new buffer
    std::memset(more.data(), 'b', 1000);
    buf.commit(1000);
    ASSERT_EQ(buf.size(), 1016u);
    EXPECT_EQ(std::memcmp(buf.data().data(), "GET / HTTP/1.1\r\n", 16), 0);
    buf.consume(buf.size());
    buf.shrink_to_fit();
    EXPECT_EQ(buf.capacity(), 0u);
  }
}

}  // namespace
}  // namespace hearth::net
