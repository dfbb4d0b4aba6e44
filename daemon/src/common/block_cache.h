#pragma once
// A per-thread stack of up to Kept freed memory blocks of one size, for the
// allocators that recycle a fixed-size block per request (issue 14):
// net::ReadBufferAllocator (head-sized read buffers) and
// proxy::SinkAllocator (the ObservedSink's block). Each Tag has its own
// cache, so every block in it has the size its owner gave it. The blocks left
// when the thread ends are freed.
#include <new>

namespace hearth {

template <class Tag, int Kept>
class BlockCache {
 public:
  // A kept block, or nullptr when there is none.
  static void* take() noexcept {
    Cache& c = cache();
    return c.count > 0 ? c.blocks[--c.count] : nullptr;
  }
  // Keeps `p` if there is room; false when the caller must free it.
  static bool give(void* p) noexcept {
    Cache& c = cache();
    if (c.count >= Kept) return false;
    c.blocks[c.count++] = p;
    return true;
  }

 private:
  struct Cache {
    void* blocks[Kept];
    int count = 0;
    ~Cache() {
      while (count > 0) ::operator delete(blocks[--count]);
    }
  };
  static Cache& cache() {
    static thread_local Cache c;
    return c;
  }
};

}  // namespace hearth
