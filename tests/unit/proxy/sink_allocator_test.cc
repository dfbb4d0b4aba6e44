#include "proxy/sink_allocator.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace hearth::proxy {
namespace {

struct Probe {
  explicit Probe(int* destroyed) : destroyed_(destroyed) {}
  ~Probe() { ++*destroyed_; }
  int* destroyed_;
  char payload[200] = {};
};

TEST(SinkAllocator, AFreedBlockIsReusedAndTheObjectStillDestroyed) {
  int destroyed = 0;
  auto first = std::allocate_shared<Probe>(SinkAllocator<Probe>{}, &destroyed);
  const void* where = first.get();
  first.reset();
  EXPECT_EQ(destroyed, 1);  // the destructor runs on release: what it holds is let go
  auto second = std::allocate_shared<Probe>(SinkAllocator<Probe>{}, &destroyed);
  EXPECT_EQ(second.get(), where);
}

TEST(SinkAllocator, KeepsAtMostKKeptBlocks) {
  int destroyed = 0;
  std::vector<std::shared_ptr<Probe>> live;
  for (int i = 0; i < SinkAllocator<Probe>::kKept + 4; ++i)
    live.push_back(std::allocate_shared<Probe>(SinkAllocator<Probe>{}, &destroyed));
  std::vector<const void*> freed;
  for (auto& p : live) freed.push_back(p.get());
  live.clear();  // kKept blocks are kept, the other 4 go back to operator delete
  EXPECT_EQ(destroyed, SinkAllocator<Probe>::kKept + 4);
  // The next kKept come from the cache (in reverse order of release), all distinct.
  std::vector<std::shared_ptr<Probe>> again;
  for (int i = 0; i < SinkAllocator<Probe>::kKept; ++i)
    again.push_back(std::allocate_shared<Probe>(SinkAllocator<Probe>{}, &destroyed));
  for (int i = 0; i < SinkAllocator<Probe>::kKept; ++i)
    EXPECT_EQ(again[static_cast<std::size_t>(i)].get(), freed[static_cast<std::size_t>(SinkAllocator<Probe>::kKept - 1 - i)]);
}

}  // namespace
}  // namespace hearth::proxy
