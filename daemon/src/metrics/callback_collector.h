#pragma once
// Metrics computed at scrape time from the components that own the numbers
// (the pool, the dispatcher, the health checker...), as a prometheus-cpp
// Collectable. prometheus-cpp's own families hold values that are pushed to
// them; these are pulled, so nothing is updated on the request path.
//
//   CallbackCollector c;
//   c.add("hearth_workers", "Workers by state.", CallbackCollector::Type::Gauge, {"state"},
//         [](const CallbackCollector::Emit& emit) { emit({"ready"}, 3); });
//   auto text = expose({&c});
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <functional>
#include <string>
#include <vector>

namespace hearth::metrics {

using LabelValues = std::vector<std::string>;  // in the family's label-name order

class CallbackCollector final : public prometheus::Collectable {
 public:
  enum class Type {
    Gauge,    // a value that goes up and down
    Counter,  // a total that only grows (its name ends in _total)
  };
  using Emit = std::function<void(const LabelValues&, double)>;
  using Source = std::function<void(const Emit&)>;

  // Start-up regime: throws std::invalid_argument for a bad name or help text.
  void add(std::string name, std::string help, Type type, std::vector<std::string> label_names, Source collect);

  // One MetricFamily per add(), in the order added. A callback that emits
  // nothing (its source is off) still gets its HELP and TYPE lines, as before
  // prometheus-cpp; a prometheus-cpp family without children has none.
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  struct Entry {
    std::string name;
    std::string help;
    Type type;
    std::vector<std::string> label_names;
    Source collect;
  };
  std::vector<Entry> entries_;
};

}  // namespace hearth::metrics
