#include "metrics/series_slots.h"

#include <algorithm>

namespace hearth::metrics {

std::vector<std::size_t> SeriesSlots::update(const std::vector<int>& live) {
  for (int& h : holder_) {
    if (h != kFree && std::find(live.begin(), live.end(), h) == live.end()) h = kFree;
  }
  std::vector<std::size_t> out;
  out.reserve(live.size());
  for (int id : live) {
    auto it = std::find(holder_.begin(), holder_.end(), id);
    if (it == holder_.end()) {
      it = std::find(holder_.begin(), holder_.end(), kFree);
      if (it == holder_.end()) it = holder_.insert(holder_.end(), kFree);
      *it = id;
    }
    out.push_back(static_cast<std::size_t>(it - holder_.begin()));
  }
  return out;
}

}  // namespace hearth::metrics
