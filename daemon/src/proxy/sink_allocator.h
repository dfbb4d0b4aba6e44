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
      Cache& c = cache();
      if (c.count > 0) return static_cast<T*>(c.blocks[--c.count]);
    }
    return static_cast<T*>(::operator new(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (n == 1) {
      Cache& c = cache();
      if (c.count < kKept) {
        c.blocks[c.count++] = p;
        return;
      }
    }
    ::operator delete(static_cast<void*>(p));
  }

  template <class U>
  bool operator==(const SinkAllocator<U>&) const noexcept { return true; }
  template <class U>
  bool operator!=(const SinkAllocator<U>&) const noexcept { return false; }

 private:
  // One cache per T: every block in it is sizeof(T) bytes.
  struct Cache {
    void* blocks[kKept];
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

}  // namespace hearth::proxy
