#pragma once
// The allocator ProxyHandler makes each request's ObservedSink with
// (std::allocate_shared): the sink and its shared_ptr control block are one
// block of a fixed size, freed when the response is done and allocated again
// by the next request. Up to kKept freed blocks are kept per thread for the
// next one instead of going back to malloc (issue 14; the same idea as
// net::ReadBufferAllocator). The sink's destructor still runs on release, so
// it lets go of the connection's sink and the Request as before.
#include <cstddef>
#include <new>

#include "common/block_cache.h"

namespace hearth::proxy {

template <class T>
class SinkAllocator {
 public:
  using value_type = T;
  static constexpr int kKept = 8;

  SinkAllocator() noexcept = default;
  template <class U>
  SinkAllocator(const SinkAllocator<U>&) noexcept {}

  T* allocate(std::size_t n) {
    if (n == 1) {
      if (void* b = Blocks::take()) return static_cast<T*>(b);
    }
    return static_cast<T*>(::operator new(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (n == 1 && Blocks::give(p)) return;
    ::operator delete(static_cast<void*>(p));
  }

  template <class U>
  bool operator==(const SinkAllocator<U>&) const noexcept { return true; }
  template <class U>
  bool operator!=(const SinkAllocator<U>&) const noexcept { return false; }

 private:
  // One cache per T: every block in it is sizeof(T) bytes.
  using Blocks = BlockCache<SinkAllocator<T>, kKept>;
};

}  // namespace hearth::proxy
