#include "net/slab_pool.h"

#include <sys/mman.h>

#include <utility>

namespace hearth::net {

namespace {
constexpr std::size_t kHeader = 16;  // the block's slab, keeping the object 16-byte aligned
std::size_t round16(std::size_t n) { return (n + 15) & ~std::size_t{15}; }
}  // namespace

struct SlabPool::Slab {
  Slab* prev = nullptr;
  Slab* next = nullptr;
  Free* free = nullptr;
  uint32_t live = 0;
  uint32_t carved = 0;
  bool listed = false;  // in partial_
};

SlabPool::SlabPool(std::size_t object_size)
    : block_(kHeader + round16(object_size)),
      per_slab_(static_cast<uint32_t>((kSlabBytes - round16(sizeof(Slab))) / (kHeader + round16(object_size)))) {}

void SlabPool::unlink(Slab* s) {
  if (s->prev) s->prev->next = s->next;
  else partial_ = s->next;
  if (s->next) s->next->prev = s->prev;
  s->prev = s->next = nullptr;
  s->listed = false;
}

void SlabPool::push_partial(Slab* s) {
  s->prev = nullptr;
  s->next = partial_;
  if (partial_) partial_->prev = s;
  partial_ = s;
  s->listed = true;
}

void* SlabPool::allocate() {
  if (per_slab_ == 0) return ::operator new(block_);  // larger than a slab (not used so)
  std::lock_guard<std::mutex> lock(mu_);
  Slab* s = partial_;
  if (s == nullptr) {
    if (empty_ != nullptr) {
      s = std::exchange(empty_, nullptr);
    } else {
      void* m = ::mmap(nullptr, kSlabBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (m == MAP_FAILED) throw std::bad_alloc();
      s = new (m) Slab();
      ++slabs_;
    }
    push_partial(s);
  } else if (s == empty_) {
    empty_ = nullptr;
  }
  char* block;
  if (s->free != nullptr) {
    block = reinterpret_cast<char*>(s->free);
    s->free = s->free->next;
  } else {
    block = reinterpret_cast<char*>(s) + round16(sizeof(Slab)) + std::size_t{s->carved} * block_;
    ++s->carved;
  }
  ++s->live;
  ++live_;
  if (s->free == nullptr && s->carved == per_slab_) unlink(s);  // full
  *reinterpret_cast<Slab**>(block) = s;
  return block + kHeader;
}

void SlabPool::deallocate(void* p) noexcept {
  if (p == nullptr) return;
  if (per_slab_ == 0) return ::operator delete(p);
  char* block = static_cast<char*>(p) - kHeader;
  std::lock_guard<std::mutex> lock(mu_);
  Slab* s = *reinterpret_cast<Slab**>(block);
  auto* f = reinterpret_cast<Free*>(block);
  f->next = s->free;
  s->free = f;
  --s->live;
  --live_;
  if (!s->listed) push_partial(s);
  if (s->live > 0) return;
  if (empty_ == nullptr) {
    empty_ = s;  // kept (still in partial_): the next connection needs no mmap
    return;
  }
  unlink(s);
  ::munmap(s, kSlabBytes);
  --slabs_;
}

std::size_t SlabPool::mapped_slabs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return slabs_;
}

std::size_t SlabPool::live() const {
  std::lock_guard<std::mutex> lock(mu_);
  return live_;
}

}  // namespace hearth::net
