#include "metrics/registry.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace hearth::metrics {

void Histogram::observe(double v) {
  std::size_t i = 0;
  while (i < bounds_->size() && v > (*bounds_)[i]) ++i;
  ++counts_[i];
  ++count_;
  sum_ += v;
}

uint64_t Histogram::cumulative(std::size_t i) const {
  uint64_t c = 0;
  for (std::size_t k = 0; k <= i && k < counts_.size(); ++k) c += counts_[k];
  return c;
}

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string escape_help(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  // Shortest text that reads back as the same double.
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string format_labels(const std::vector<std::string>& names, const Labels& values, std::string_view extra_name,
                          std::string_view extra_value) {
  if (names.empty() && extra_name.empty()) return {};
  std::string out = "{";
  bool first = true;
  for (std::size_t i = 0; i < names.size() && i < values.size(); ++i) {
    if (!first) out += ',';
    first = false;
    out += names[i];
    out += "=\"";
    out += escape_label_value(values[i]);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
  return out;
}

const std::vector<double>& latency_buckets() {
  static const std::vector<double> b{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  return b;
}

Family<Counter>& Registry::counter(const std::string& name, const std::string& help, std::vector<std::string> labels) {
  counters_.push_back(std::make_unique<Family<Counter>>(name, help, std::move(labels)));
  order_.push_back(Entry{Kind::Counter, name, counters_.back().get(), help, {}, {}});
  return *counters_.back();
}

Family<Gauge>& Registry::gauge(const std::string& name, const std::string& help, std::vector<std::string> labels) {
  gauges_.push_back(std::make_unique<Family<Gauge>>(name, help, std::move(labels)));
  order_.push_back(Entry{Kind::Gauge, name, gauges_.back().get(), help, {}, {}});
  return *gauges_.back();
}

Family<Histogram>& Registry::histogram(const std::string& name, const std::string& help,
                                       std::vector<std::string> labels, std::vector<double> bounds) {
  for (std::size_t i = 1; i < bounds.size(); ++i) {
    if (!(bounds[i] > bounds[i - 1])) throw std::invalid_argument("histogram " + name + ": buckets must increase");
  }
  histograms_.push_back(std::make_unique<Family<Histogram>>(name, help, std::move(labels)));
  histograms_.back()->bounds = std::move(bounds);
  order_.push_back(Entry{Kind::Histogram, name, histograms_.back().get(), help, {}, {}});
  return *histograms_.back();
}

void Registry::callback(const std::string& name, const std::string& help, std::vector<std::string> labels,
                        Collect collect, bool is_counter) {
  order_.push_back(Entry{Kind::Callback, name, nullptr, help, std::move(labels), std::move(collect), is_counter});
}

std::string Registry::expose() const {
  std::string out;
  out.reserve(8192);
  auto header = [&](const std::string& name, const std::string& help, const char* type) {
    out += "# HELP " + name + " " + escape_help(help) + "\n";
    out += "# TYPE " + name + " " + type + "\n";
  };
  for (const Entry& e : order_) {
    switch (e.kind) {
      case Kind::Counter: {
        auto* f = static_cast<Family<Counter>*>(e.family);
        header(f->name(), f->help(), "counter");
        for (auto& [labels, c] : f->children())
          out += f->name() + format_labels(f->label_names(), labels) + " " + format_value(c->value()) + "\n";
        break;
      }
      case Kind::Gauge: {
        auto* f = static_cast<Family<Gauge>*>(e.family);
        header(f->name(), f->help(), "gauge");
        for (auto& [labels, g] : f->children())
          out += f->name() + format_labels(f->label_names(), labels) + " " + format_value(g->value()) + "\n";
        break;
      }
      case Kind::Histogram: {
        auto* f = static_cast<Family<Histogram>*>(e.family);
        header(f->name(), f->help(), "histogram");
        for (auto& [labels, h] : f->children()) {
          for (std::size_t i = 0; i <= f->bounds.size(); ++i) {
            std::string le = i < f->bounds.size() ? format_value(f->bounds[i]) : "+Inf";
            out += f->name() + "_bucket" + format_labels(f->label_names(), labels, "le", le) + " " +
                   format_value(static_cast<double>(h->cumulative(i))) + "\n";
          }
          out += f->name() + "_sum" + format_labels(f->label_names(), labels) + " " + format_value(h->sum()) + "\n";
          out += f->name() + "_count" + format_labels(f->label_names(), labels) + " " +
                 format_value(static_cast<double>(h->count())) + "\n";
        }
        break;
      }
      case Kind::Callback: {
        header(e.name, e.help, e.callback_is_counter ? "counter" : "gauge");
        e.collect([&](const Labels& labels, double v) {
          out += e.name + format_labels(e.labels, labels) + " " + format_value(v) + "\n";
        });
        break;
      }
    }
  }
  return out;
}

}  // namespace hearth::metrics
