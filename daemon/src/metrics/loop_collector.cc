#include "metrics/loop_collector.h"

#include <prometheus/check_names.h>

#include <algorithm>
#include <stdexcept>
#include <type_traits>

#include "metrics/exposition.h"

namespace hearth::metrics {

namespace {

void fill(prometheus::ClientMetric& m, const LoopCounter& c) { m.counter.value = static_cast<double>(c.value()); }
void fill(prometheus::ClientMetric& m, const LoopGauge& g) { m.gauge.value = g.value(); }
void fill(prometheus::ClientMetric& m, const LoopHistogram& h) { m.histogram = h.collect(); }

}  // namespace

template <typename Metric>
LoopFamily<Metric>::LoopFamily(std::vector<std::string> label_names, std::vector<double> bounds)
    : label_names_(std::move(label_names)), bounds_(std::move(bounds)) {}

template <typename Metric>
Metric& LoopFamily<Metric>::add(const LabelValues& values) {
  if (values.size() != label_names_.size())
    throw std::invalid_argument("metric series has " + std::to_string(values.size()) + " label values for " +
                                std::to_string(label_names_.size()) + " label names");
  std::vector<prometheus::ClientMetric::Label> labels;
  labels.reserve(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) labels.push_back({label_names_[i], values[i]});
  std::sort(labels.begin(), labels.end());
  for (Series& s : series_)
    if (s.labels == labels) return s.metric;
  if constexpr (std::is_same_v<Metric, LoopHistogram>)
    series_.push_back(Series{std::move(labels), LoopHistogram(bounds_)});
  else
    series_.push_back(Series{std::move(labels), Metric{}});
  return series_.back().metric;
}

template <typename Metric>
void LoopFamily<Metric>::collect(prometheus::MetricFamily& f) const {
  f.metric.reserve(series_.size());
  for (const Series& s : series_) {
    prometheus::ClientMetric m;
    m.label = s.labels;
    fill(m, s.metric);
    f.metric.push_back(std::move(m));
  }
}

template class LoopFamily<LoopCounter>;
template class LoopFamily<LoopGauge>;
template class LoopFamily<LoopHistogram>;

LoopCollector::Entry& LoopCollector::add(std::string name, std::string help, prometheus::MetricType type,
                                         const std::vector<std::string>& label_names) {
  if (!prometheus::CheckMetricName(name)) throw std::invalid_argument("bad metric name: " + name);
  for (auto& l : label_names)
    if (!prometheus::CheckLabelName(l)) throw std::invalid_argument("bad label name for " + name + ": " + l);
  checked_help(help);
  entries_.push_back(Entry{std::move(name), std::move(help), type, nullptr, nullptr, nullptr});
  return entries_.back();
}

LoopFamily<LoopCounter>& LoopCollector::add_counter(std::string name, std::string help,
                                                    std::vector<std::string> label_names) {
  Entry& e = add(std::move(name), std::move(help), prometheus::MetricType::Counter, label_names);
  e.counter = std::make_unique<LoopFamily<LoopCounter>>(std::move(label_names), std::vector<double>{});
  return *e.counter;
}

LoopFamily<LoopGauge>& LoopCollector::add_gauge(std::string name, std::string help,
                                                std::vector<std::string> label_names) {
  Entry& e = add(std::move(name), std::move(help), prometheus::MetricType::Gauge, label_names);
  e.gauge = std::make_unique<LoopFamily<LoopGauge>>(std::move(label_names), std::vector<double>{});
  return *e.gauge;
}

LoopFamily<LoopHistogram>& LoopCollector::add_histogram(std::string name, std::string help,
                                                        std::vector<std::string> label_names,
                                                        std::vector<double> bounds) {
  if (!std::is_sorted(bounds.begin(), bounds.end()))
    throw std::invalid_argument("histogram bucket bounds must be in increasing order: " + name);
  Entry& e = add(std::move(name), std::move(help), prometheus::MetricType::Histogram, label_names);
  e.histogram = std::make_unique<LoopFamily<LoopHistogram>>(std::move(label_names), std::move(bounds));
  return *e.histogram;
}

std::vector<prometheus::MetricFamily> LoopCollector::Collect() const {
  std::vector<prometheus::MetricFamily> out;
  for (const Entry& e : entries_) {
    prometheus::MetricFamily f;
    f.name = e.name;
    f.help = e.help;
    f.type = e.type;
    if (e.counter) e.counter->collect(f);
    if (e.gauge) e.gauge->collect(f);
    if (e.histogram) e.histogram->collect(f);
    if (!f.metric.empty()) out.push_back(std::move(f));
  }
  return out;
}

}  // namespace hearth::metrics
