#pragma once
// The token buckets of one [[rate_limit]] rule: one bucket per key (a client
// address), in bounded memory. Pure: time is passed in, no I/O, no locking
// (one executor owns it).
//
// nginx's `limit_req rate=R burst=B nodelay` in token-bucket form: a bucket
// holds up to B + 1 tokens and refills at R per second; a request takes one
// token or is limited, and then learns when the next token comes (Retry-After).
//
// Memory: at most `max_keys` buckets, kept in least-recently-used order. A
// bucket that has refilled completely is the same as no bucket, so idle ones
// are dropped from the old end as requests come (two per check); when the
// table is full of active keys the least recently used one is dropped (that
// client then starts with a full bucket: the cap favours memory over precision).
#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/clock.h"

namespace hearth::frontdoor {

class RateLimiter {
 public:
  static constexpr std::size_t kDefaultMaxKeys = 100000;

  struct Decision {
    bool allowed = true;
    Duration retry_after{0};  // limited: until a token is back (rounded up to whole ms)
  };

  // per_second > 0.
  RateLimiter(double per_second, uint32_t burst, std::size_t max_keys = kDefaultMaxKeys);

  [[nodiscard]] Decision check(std::string_view key, TimePoint now);

  std::size_t keys() const { return buckets_.size(); }
  uint64_t evicted_active() const { return evicted_active_; }  // dropped while not yet refilled

 private:
  struct Bucket {
    double tokens = 0;
    TimePoint last{};
    std::list<std::string>::iterator lru;  // position in lru_ (front = most recent)
  };
  double refilled(const Bucket& b, TimePoint now) const;
  void drop_idle(TimePoint now);

  double per_second_;
  double capacity_;  // burst + 1
  std::size_t max_keys_;
  std::unordered_map<std::string, Bucket> buckets_;
  std::list<std::string> lru_;
  uint64_t evicted_active_ = 0;
};

}  // namespace hearth::frontdoor
