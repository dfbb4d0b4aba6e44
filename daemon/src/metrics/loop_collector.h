#pragma once
// The families of loop metrics (metrics/loop_metrics.h) as a prometheus-cpp
// Collectable: the request path updates plain counters, gauges and histogram
// buckets through references it keeps, and Collect() builds the MetricFamily
// values for prometheus-cpp's TextSerializer at scrape time. Both happen on the
// daemon's io_context, the collector's only executor.
//
// The exposition is what prometheus-cpp's Family<Counter|Gauge|Histogram>
// would produce for the same updates: a family without series writes nothing
// (not even HELP and TYPE), a series' labels come sorted by name (they are a
// std::map there), a histogram has cumulative buckets, +Inf, _sum and _count.
// Series come in the order they were added.
//
//   LoopCollector c;
//   LoopFamily<LoopCounter>& f = c.add_counter("hearth_requests_total", "Requests.", {"method", "status"});
//   LoopCounter& get2xx = f.add({"GET", "2xx"});  // once
//   get2xx.increment();                            // per request
//   auto text = expose({&c});
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "metrics/callback_collector.h"
#include "metrics/loop_metrics.h"

namespace hearth::metrics {

class LoopCollector;

template <typename Metric>
class LoopFamily {
 public:
  // The series with these label values (in the order of the family's label
  // names), made on first use. Not for the request path: keep the reference,
  // valid as long as the collector. Throws std::invalid_argument for a wrong
  // number of values.
  Metric& add(const LabelValues& values);

  LoopFamily(std::vector<std::string> label_names, std::vector<double> bounds);
  LoopFamily(const LoopFamily&) = delete;
  LoopFamily& operator=(const LoopFamily&) = delete;

 private:
  friend class LoopCollector;
  struct Series {
    std::vector<prometheus::ClientMetric::Label> labels;  // sorted by name
    Metric metric;
  };
  // Appends one ClientMetric per series to f.metric.
  void collect(prometheus::MetricFamily& f) const;

  std::vector<std::string> label_names_;
  std::vector<double> bounds_;  // histograms only
  std::deque<Series> series_;   // a deque: references stay valid as series are added
};

class LoopCollector final : public prometheus::Collectable {
 public:
  // Start-up regime: throw std::invalid_argument for a bad name, label name or
  // help text (as CallbackCollector::add), or unsorted histogram bounds.
  LoopFamily<LoopCounter>& add_counter(std::string name, std::string help, std::vector<std::string> label_names);
  LoopFamily<LoopGauge>& add_gauge(std::string name, std::string help, std::vector<std::string> label_names);
  LoopFamily<LoopHistogram>& add_histogram(std::string name, std::string help, std::vector<std::string> label_names,
                                           std::vector<double> bounds);

  // One MetricFamily per family with at least one series, in the order added.
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  struct Entry {
    std::string name;
    std::string help;
    prometheus::MetricType type;
    std::unique_ptr<LoopFamily<LoopCounter>> counter;
    std::unique_ptr<LoopFamily<LoopGauge>> gauge;
    std::unique_ptr<LoopFamily<LoopHistogram>> histogram;
  };
  Entry& add(std::string name, std::string help, prometheus::MetricType type,
             const std::vector<std::string>& label_names);

  std::vector<Entry> entries_;
};

}  // namespace hearth::metrics
