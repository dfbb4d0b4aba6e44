#pragma once

#include <cstddef>
#include <new>

#include "common/block_cache.h"

namespace hearth::net {

// The allocator of HttpConnection's read buffer. Between keep-alive requests a
// plain connection releases its (head-sized) read buffer, so an idle connection
// holds none (docs/benchmarks.md, idle connections); the next request takes one
// again. A 2 KiB block is past malloc's per-thread cache, so that round trip
// cost two trips through malloc's bins per request. Here blocks of up to
// kBlock bytes are rounded up to kBlock and up to kKept freed ones are kept per
// thread for the next taker: a fixed few KiB per thread, not per connection.
// Larger buffers (bodies, read-ahead) go to operator new as before.
template <class T>
class ReadBufferAllocator {
 public:
  using value_type = T;
  static constexpr std::size_t kBlock = 2 * 1024;  // kHeadReadChunk in http_connection.cc
  static constexpr int kKept = 4;

  ReadBufferAllocator() noexcept = default;
  template <class U>
  ReadBufferAllocator(const ReadBufferAllocator<U>&) noexcept {}

  T* allocate(std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    if (bytes <= kBlock) {
      if (void* b = Blocks::take()) return static_cast<T*>(b);
      return static_cast<T*>(::operator new(kBlock));
    }
    return static_cast<T*>(::operator new(bytes));
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (n * sizeof(T) <= kBlock && Blocks::give(p)) return;
    ::operator delete(static_cast<void*>(p));
  }

  template <class U>
  bool operator==(const ReadBufferAllocator<U>&) const noexcept { return true; }
  template <class U>
  bool operator!=(const ReadBufferAllocator<U>&) const noexcept { return false; }

 private:
  using Blocks = BlockCache<ReadBufferAllocator<T>, kKept>;
};

}  // namespace hearth::net
