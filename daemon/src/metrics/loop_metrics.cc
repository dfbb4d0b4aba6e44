#include "metrics/loop_metrics.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace hearth::metrics {

LoopHistogram::LoopHistogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {
  if (!std::is_sorted(bounds_.begin(), bounds_.end()))
    throw std::invalid_argument("histogram bucket bounds must be in increasing order");
}

prometheus::ClientMetric::Histogram LoopHistogram::collect() const {
  prometheus::ClientMetric::Histogram h;
  h.bucket.reserve(counts_.size());
  uint64_t cumulative = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    cumulative += counts_[i];
    prometheus::ClientMetric::Bucket b;
    b.cumulative_count = cumulative;
    b.upper_bound = i < bounds_.size() ? bounds_[i] : std::numeric_limits<double>::infinity();
    h.bucket.push_back(b);
  }
  h.sample_count = cumulative;
  h.sample_sum = sum_;
  return h;
}

}  // namespace hearth::metrics
