#pragma once
// Counters, gauges and histograms owned by one executor: the daemon's
// io_context, the only thread that updates them and the one that scrapes them
// (LoopCollector). No atomics and no mutex: prometheus-cpp's own types are
// thread-safe, a compare-and-swap loop per counter change and a mutex per
// histogram observation, which the request path of a single-threaded daemon
// does not need. A metric updated from another thread does not belong here.
//
// Their values read the same as prometheus-cpp's for the same updates:
// LoopHistogram sorts an observation into the first bucket whose upper bound is
// >= it (the bucket prometheus::Histogram::Observe finds with std::lower_bound) and reports
// cumulative bucket counts, the count and the sum as prometheus::Histogram::Collect.
#include <prometheus/client_metric.h>

#include <cstdint>
#include <vector>

namespace hearth::metrics {

// A total that only grows. Counts are integers here (requests, bytes): exact
// up to 2^53 when written as prometheus-cpp's double.
class LoopCounter {
 public:
  void increment() { ++value_; }
  void increment(uint64_t n) { value_ += n; }
  uint64_t value() const { return value_; }

 private:
  uint64_t value_ = 0;
};

class LoopGauge {
 public:
  void increment() { value_ += 1; }
  void decrement() { value_ -= 1; }
  void set(double v) { value_ = v; }
  double value() const { return value_; }

 private:
  double value_ = 0;
};

class LoopHistogram {
 public:
  // Upper bounds in increasing order; +Inf is implied (the last bucket).
  explicit LoopHistogram(std::vector<double> bounds);

  // A linear scan from the first bound: the bucket std::lower_bound finds (a
  // NaN too lands in the first), in one or two comparisons for the sub-
  // millisecond latencies that dominate, where a binary search over the 15
  // latency bounds always takes four steps.
  void observe(double v) {
    std::size_t i = 0;
    const std::size_t n = bounds_.size();
    while (i < n && v > bounds_[i]) ++i;
    ++counts_[i];
    sum_ += v;
  }

  // Cumulative bucket counts (the last one +Inf), sample count and sum.
  prometheus::ClientMetric::Histogram collect() const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative; bounds_.size() + 1
  double sum_ = 0;
};

}  // namespace hearth::metrics
