#pragma once
// The bookkeeping of parked idle keep-alive connections (net/idle_parker.h):
// which sockets are parked, what each keeps for when it is taken back, and
// which keep-alive deadlines have passed. Pure: no sockets, no timers; the
// time is passed in. Belongs to one loop's thread.
//
// Storage: one hash entry per parked socket and one 16-byte deadline record in
// a min-heap. Unparking leaves its deadline record behind ("stale": its
// generation no longer matches); stale records are dropped when they reach the
// top, so the heap holds at most the parks of one keep-alive timeout.
#include <cstdint>
#include <optional>
#include <queue>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/clock.h"

namespace hearth::net {

template <typename Payload>
class IdleTable {
 public:
  // Parks `fd` until `deadline`. false: it is parked already (nothing changes).
  bool park(int fd, TimePoint deadline, Payload payload) {
    const uint32_t gen = ++generation_;
    auto [it, inserted] = entries_.try_emplace(fd, Entry{deadline, gen, std::move(payload)});
    if (!inserted) return false;
    heap_.push(Deadline{deadline, fd, gen});
    return true;
  }

  // Takes `fd` back (it became readable): its payload and deadline; nullopt if not parked.
  std::optional<std::pair<TimePoint, Payload>> unpark(int fd) {
    auto it = entries_.find(fd);
    if (it == entries_.end()) return std::nullopt;
    std::pair<TimePoint, Payload> out{it->second.deadline, std::move(it->second.payload)};
    entries_.erase(it);
    return out;
  }

  // Removes and returns every parked socket whose deadline is <= now, earliest first.
  std::vector<std::pair<int, Payload>> expire(TimePoint now) {
    std::vector<std::pair<int, Payload>> out;
    while (!heap_.empty() && heap_.top().at <= now) {
      const Deadline d = heap_.top();
      heap_.pop();
      auto it = entries_.find(d.fd);
      if (it == entries_.end() || it->second.generation != d.generation) continue;  // stale
      out.emplace_back(d.fd, std::move(it->second.payload));
      entries_.erase(it);
    }
    return out;
  }

  // The earliest deadline of a parked socket; TimePoint::max() when none.
  TimePoint next_deadline() {
    while (!heap_.empty()) {
      const Deadline& d = heap_.top();
      auto it = entries_.find(d.fd);
      if (it != entries_.end() && it->second.generation == d.generation) return d.at;
      heap_.pop();  // stale
    }
    return TimePoint::max();
  }

  // Removes and returns every parked socket (shutdown).
  std::vector<std::pair<int, Payload>> take_all() {
    std::vector<std::pair<int, Payload>> out;
    out.reserve(entries_.size());
    for (auto& [fd, e] : entries_) out.emplace_back(fd, std::move(e.payload));
    entries_.clear();
    heap_ = {};
    return out;
  }

  std::size_t size() const { return entries_.size(); }
  bool contains(int fd) const { return entries_.count(fd) != 0; }
  std::size_t deadline_records() const { return heap_.size(); }  // including stale ones

 private:
  struct Entry {
    TimePoint deadline;
    uint32_t generation;
    Payload payload;
  };
  struct Deadline {
    TimePoint at;
    int fd;
    uint32_t generation;
    bool operator>(const Deadline& o) const { return at > o.at; }
  };
  std::unordered_map<int, Entry> entries_;
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<Deadline>> heap_;
  uint32_t generation_ = 0;
};

}  // namespace hearth::net
