#pragma once
// Fixed-size blocks carved from 64 KiB anonymous mappings, for objects that
// exist per connection (HttpConnection). A mapping whose blocks are all free
// is unmapped (one empty one is kept), so a burst of connections that are
// parked or closed gives its memory back to the system at once, instead of
// leaving holes in the malloc heap between blocks that stay (Asio's
// per-descriptor state is allocated next to each connection and never freed).
// Thread-safe (one mutex; taken once per connection, not per request).
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <new>

namespace hearth::net {

// Under AddressSanitizer the allocator hands out plain heap blocks, so a use
// after free of a connection is still reported.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kSlabPoolEnabled = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kSlabPoolEnabled = false;
#else
inline constexpr bool kSlabPoolEnabled = true;
#endif
#else
inline constexpr bool kSlabPoolEnabled = true;
#endif

class SlabPool {
 public:
  static constexpr std::size_t kSlabBytes = 64 * 1024;

  explicit SlabPool(std::size_t object_size);
  SlabPool(const SlabPool&) = delete;
  SlabPool& operator=(const SlabPool&) = delete;

  void* allocate();
  void deallocate(void* p) noexcept;
  std::size_t mapped_slabs() const;
  std::size_t live() const;

 private:
  struct Slab;
  struct Free {
    Free* next;
  };
  void unlink(Slab* s);
  void push_partial(Slab* s);

  const std::size_t block_;  // header + object, 16-byte aligned
  const uint32_t per_slab_;
  mutable std::mutex mu_;
  Slab* partial_ = nullptr;  // slabs with a free block (doubly linked)
  Slab* empty_ = nullptr;    // at most one slab kept with no live block
  std::size_t slabs_ = 0;
  std::size_t live_ = 0;
};

// std::allocate_shared<T>(SlabAllocator<T>{}): every block of one size comes from one pool.
template <typename T>
struct SlabAllocator {
  using value_type = T;
  SlabAllocator() = default;
  template <typename U>
  SlabAllocator(const SlabAllocator<U>&) noexcept {}
  static SlabPool& pool() {
    static SlabPool* p = new SlabPool(sizeof(T));  // never destroyed: blocks may be freed at exit
    return *p;
  }
  T* allocate(std::size_t n) {
    if (n != 1 || !kSlabPoolEnabled) return static_cast<T*>(::operator new(n * sizeof(T)));
    return static_cast<T*>(pool().allocate());
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (n != 1 || !kSlabPoolEnabled) return ::operator delete(p);
    pool().deallocate(p);
  }
  template <typename U>
  bool operator==(const SlabAllocator<U>&) const noexcept { return true; }
  template <typename U>
  bool operator!=(const SlabAllocator<U>&) const noexcept { return false; }
};

}  // namespace hearth::net
