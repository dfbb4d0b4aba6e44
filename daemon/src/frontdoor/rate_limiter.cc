#include "frontdoor/rate_limiter.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace hearth::frontdoor {

RateLimiter::RateLimiter(double per_second, uint32_t burst, std::size_t max_keys)
    : per_second_(per_second), capacity_(static_cast<double>(burst) + 1.0), max_keys_(std::max<std::size_t>(1, max_keys)) {
  assert(per_second > 0);
}

double RateLimiter::refilled(const Bucket& b, TimePoint now) const {
  if (now <= b.last) return b.tokens;
  double seconds = std::chrono::duration<double>(now - b.last).count();
  return std::min(capacity_, b.tokens + seconds * per_second_);
}

void RateLimiter::drop_idle(TimePoint now) {
  for (int i = 0; i < 2 && !lru_.empty(); ++i) {
    auto it = buckets_.find(lru_.back());
    if (refilled(it->second, now) < capacity_) return;  // the oldest is still refilling: so are the rest, mostly
    buckets_.erase(it);
    lru_.pop_back();
  }
}

RateLimiter::Decision RateLimiter::check(std::string_view key_view, TimePoint now) {
  drop_idle(now);
  std::string key(key_view);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) {
      buckets_.erase(lru_.back());
      lru_.pop_back();
      ++evicted_active_;
    }
    lru_.push_front(key);
    Bucket b;
    b.tokens = capacity_ - 1.0;
    b.last = now;
    b.lru = lru_.begin();
    buckets_.emplace(std::move(key), b);
    return {};
  }
  Bucket& b = it->second;
  lru_.splice(lru_.begin(), lru_, b.lru);
  b.tokens = refilled(b, now);
  b.last = std::max(b.last, now);
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return {};
  }
  double wait_s = (1.0 - b.tokens) / per_second_;
  auto wait = Duration(static_cast<Duration::rep>(std::ceil(wait_s * 1000.0)));
  return {false, std::max(wait, Duration(1))};
}

}  // namespace hearth::frontdoor
