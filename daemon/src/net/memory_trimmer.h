#pragma once
// Gives freed heap back to the system after a burst. glibc keeps the arenas a
// burst of connections grew (an HTTP/2 upload flood: 8 MiB -> 139 MiB, and 134 MiB
// after they closed; 256 HTTP/1.1 keep-alive clients: the heap 260 KiB -> 1.9 MiB
// resident, 1.9 MiB after they closed, 0.9 MiB after a trim); malloc_trim(0) returns
// their free pages. Connections report what they release (HTTP/2 and HTTP/1.1 ones
// when they close, parked ones when they park); once at least kThreshold bytes were
// released, one trim runs kDelay later, so a burst of closes costs one trim, and trims
// are at most one per kDelay (a trim of a small heap costs tens of microseconds).
// Belongs to the io_context's thread.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>

namespace hearth::net {

class MemoryTrimmer final : public std::enable_shared_from_this<MemoryTrimmer> {
 public:
  static constexpr uint64_t kThreshold = 256 * 1024;
  static constexpr std::chrono::milliseconds kDelay{500};

  explicit MemoryTrimmer(boost::asio::io_context& io) : timer_(io) {}
  void released(uint64_t bytes);
  uint64_t trims() const { return trims_; }

 private:
  boost::asio::steady_timer timer_;
  uint64_t pending_ = 0;
  bool armed_ = false;
  uint64_t trims_ = 0;
};

}  // namespace hearth::net
