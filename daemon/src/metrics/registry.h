#pragma once
// A small Prometheus registry and the text exposition format (0.0.4), written
// here because prometheus-cpp is not packaged. The daemon is single-threaded:
// updates are plain increments on the data path, no locks.
//
//   Registry reg;
//   auto& req = reg.counter("hearth_requests_total", "Requests.", {"method", "status"});
//   req.with({"GET", "2xx"}).inc();
//   auto& lat = reg.histogram("hearth_request_duration_seconds", "Latency.", {"method"}, {0.005, 0.01, ...});
//   lat.with({"GET"}).observe(0.003);
//   reg.gauge_callback("hearth_workers", "Workers by state.", {"state"}, [](Emit emit) { emit({"ready"}, 3); });
//   std::string text = reg.expose();
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::metrics {

using Labels = std::vector<std::string>;  // values, in the family's label-name order

class Counter {
 public:
  void inc(double v = 1) { value_ += v; }
  double value() const { return value_; }

 private:
  double value_ = 0;
};

class Gauge {
 public:
  void set(double v) { value_ = v; }
  void add(double v) { value_ += v; }
  double value() const { return value_; }

 private:
  double value_ = 0;
};

class Histogram {
 public:
  explicit Histogram(const std::vector<double>* bounds) : bounds_(bounds), counts_(bounds->size() + 1, 0) {}
  void observe(double v);
  // Cumulative count for bucket i (i == bounds.size() is +Inf).
  uint64_t cumulative(std::size_t i) const;
  uint64_t count() const { return count_; }
  double sum() const { return sum_; }

 private:
  const std::vector<double>* bounds_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative
  uint64_t count_ = 0;
  double sum_ = 0;
};

template <typename T>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names)
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}
  T& with(const Labels& values);
  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  const std::map<Labels, std::unique_ptr<T>>& children() const { return children_; }
  void clear() { children_.clear(); }
  std::vector<double> bounds;  // histograms only

 private:
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  std::map<Labels, std::unique_ptr<T>> children_;
};

template <typename T>
T& Family<T>::with(const Labels& values) {
  auto it = children_.find(values);
  if (it != children_.end()) return *it->second;
  std::unique_ptr<T> child;
  if constexpr (std::is_same_v<T, Histogram>) child = std::make_unique<T>(&bounds);
  else child = std::make_unique<T>();
  T& ref = *child;
  children_.emplace(values, std::move(child));
  return ref;
}

class Registry {
 public:
  using Emit = std::function<void(const Labels&, double)>;
  using Collect = std::function<void(const Emit&)>;

  Family<Counter>& counter(const std::string& name, const std::string& help, std::vector<std::string> labels = {});
  Family<Gauge>& gauge(const std::string& name, const std::string& help, std::vector<std::string> labels = {});
  Family<Histogram>& histogram(const std::string& name, const std::string& help, std::vector<std::string> labels,
                               std::vector<double> bounds);
  // A gauge (or counter, with is_counter) computed at scrape time.
  void callback(const std::string& name, const std::string& help, std::vector<std::string> labels, Collect collect,
                bool is_counter = false);

  std::string expose() const;

 private:
  enum class Kind { Counter, Gauge, Histogram, Callback };
  struct Entry {
    Kind kind;
    std::string name;
    void* family;  // Family<...>* for the first three kinds
    std::string help;
    std::vector<std::string> labels;
    Collect collect;
    bool callback_is_counter = false;
  };
  std::vector<Entry> order_;
  std::vector<std::unique_ptr<Family<Counter>>> counters_;
  std::vector<std::unique_ptr<Family<Gauge>>> gauges_;
  std::vector<std::unique_ptr<Family<Histogram>>> histograms_;
};

// Exposition helpers (exposed for tests).
std::string escape_label_value(std::string_view v);  // \ " and newline
std::string escape_help(std::string_view v);         // \ and newline
std::string format_value(double v);                  // integers without exponent; +Inf, -Inf, NaN
std::string format_labels(const std::vector<std::string>& names, const Labels& values,
                          std::string_view extra_name = {}, std::string_view extra_value = {});

// Default latency buckets (seconds): 1 ms .. 60 s.
const std::vector<double>& latency_buckets();

}  // namespace hearth::metrics
