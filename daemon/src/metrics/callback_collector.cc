#include "metrics/callback_collector.h"

#include <prometheus/check_names.h>

#include <stdexcept>

#include "metrics/exposition.h"

namespace hearth::metrics {

void CallbackCollector::add(std::string name, std::string help, Type type, std::vector<std::string> label_names,
                            Source collect) {
  if (!prometheus::CheckMetricName(name)) throw std::invalid_argument("bad metric name: " + name);
  for (auto& l : label_names)
    if (!prometheus::CheckLabelName(l)) throw std::invalid_argument("bad label name for " + name + ": " + l);
  checked_help(help);
  entries_.push_back(Entry{std::move(name), std::move(help), type, std::move(label_names), std::move(collect)});
}

std::vector<prometheus::MetricFamily> CallbackCollector::Collect() const {
  std::vector<prometheus::MetricFamily> out;
  out.reserve(entries_.size());
  for (const Entry& e : entries_) {
    prometheus::MetricFamily f;
    f.name = e.name;
    f.help = e.help;
    f.type = e.type == Type::Counter ? prometheus::MetricType::Counter : prometheus::MetricType::Gauge;
    e.collect([&](const LabelValues& values, double v) {
      prometheus::ClientMetric m;
      for (std::size_t i = 0; i < e.label_names.size() && i < values.size(); ++i)
        m.label.push_back({e.label_names[i], values[i]});
      if (e.type == Type::Counter)
        m.counter.value = v;
      else
        m.gauge.value = v;
      f.metric.push_back(std::move(m));
    });
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace hearth::metrics
