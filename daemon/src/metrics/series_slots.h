#pragma once
// Bounded label values for things whose ids only grow. Workers are recycled
// (max_requests, memory, reloads) and each new one gets a new id; a label
// carrying that id would make a new time series per worker, forever. Instead a
// live id holds a slot index, the lowest one free when it was first seen, and
// keeps it while it lives; the slot is reused by a later id. The values stay
// within 0 .. (the most ids ever live at once) - 1. Pure: no I/O, no clock.
#include <cstddef>
#include <vector>

namespace hearth::metrics {

class SeriesSlots {
 public:
  // Frees the slots of ids not in `live`, then gives each id of `live` without
  // a slot the lowest free one. Returns the slot of each id of `live`, in order.
  std::vector<std::size_t> update(const std::vector<int>& live);
  // Slots ever used: the bound on the label's values.
  std::size_t size() const { return holder_.size(); }

 private:
  static constexpr int kFree = -1;
  std::vector<int> holder_;  // slot -> id, or kFree
};

}  // namespace hearth::metrics
