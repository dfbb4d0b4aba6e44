#include "net/memory_trimmer.h"

#include <malloc.h>

namespace hearth::net {

void MemoryTrimmer::released(uint64_t bytes) {
  pending_ += bytes;
  if (armed_ || pending_ < kThreshold) return;
  armed_ = true;
  timer_.expires_after(kDelay);
  timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self) return;
    self->armed_ = false;
    self->pending_ = 0;
    ++self->trims_;
#ifdef __GLIBC__
    ::malloc_trim(0);
#endif
  });
}

}  // namespace hearth::net
