#pragma once
// The bounded FIFO of requests waiting for a worker slot. Pure policy: no
// sockets, no timers; the caller supplies the time. Items past their deadline
// are handed back by expire() so the caller can answer 503.
#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>
#include <vector>

#include "common/clock.h"

namespace hearth::proxy {

template <typename T>
class RequestQueue {
 public:
  RequestQueue(std::size_t max_size, std::chrono::milliseconds max_wait) : max_(max_size), wait_(max_wait) {}

  // False when full (the caller answers 503); `item` is then left untouched.
  bool push(T&& item, TimePoint now) {
    if (q_.size() >= max_) return false;
    q_.push_back(Entry{std::move(item), now + wait_, now});
    return true;
  }
  // Back at the head, ahead of every other item, whatever the size (an item
  // taken from the head by pop() and handed back): waits up to max_wait from `now`.
  void push_front(T&& item, TimePoint now) { q_.push_front(Entry{std::move(item), now + wait_, now}); }
  // The oldest item, left in place; null when empty.
  T* front() { return q_.empty() ? nullptr : &q_.front().item; }
  // Oldest item, with how long it waited.
  std::optional<T> pop(TimePoint now, std::chrono::milliseconds* waited = nullptr) {
    if (q_.empty()) return std::nullopt;
    Entry e = std::move(q_.front());
    q_.pop_front();
    if (waited) *waited = std::chrono::duration_cast<std::chrono::milliseconds>(now - e.enqueued);
    return std::move(e.item);
  }
  // Removes and returns every item whose deadline has passed (FIFO: a prefix).
  std::vector<T> expire(TimePoint now) {
    std::vector<T> out;
    while (!q_.empty() && q_.front().deadline <= now) {
      out.push_back(std::move(q_.front().item));
      q_.pop_front();
    }
    return out;
  }
  // Removes items for which pred(item) is true (e.g. the client went away).
  template <typename Pred>
  std::size_t remove_if(Pred pred) {
    std::size_t before = q_.size();
    std::erase_if(q_, [&](Entry& e) { return pred(e.item); });
    return before - q_.size();
  }
  std::optional<TimePoint> next_deadline() const {
    if (q_.empty()) return std::nullopt;
    return q_.front().deadline;
  }
  std::size_t size() const { return q_.size(); }
  bool empty() const { return q_.empty(); }
  std::size_t capacity() const { return max_; }

 private:
  struct Entry {
    T item;
    TimePoint deadline;
    TimePoint enqueued;
  };
  std::size_t max_;
  std::chrono::milliseconds wait_;
  std::deque<Entry> q_;
};

}  // namespace hearth::proxy
