// LoopCollector's exposition is the text prometheus-cpp's own Counter, Gauge
// and Histogram give for the same updates: each test feeds both the same values
// and compares what TextSerializer writes.
#include "metrics/loop_collector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "metrics/exposition.h"

namespace hearth::metrics {
namespace {

using ::testing::HasSubstr;

std::vector<std::string> sorted_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  std::sort(out.begin(), out.end());
  return out;
}

// Latency-like values: on bounds (le is inclusive), between them, below the
// first, above the last (+Inf only), zero and a negative one.
const std::vector<double> kObservations = {0.0005, 0.001,  0.0010001, 0.0025, 0.003, 0.0049, 0.01,  0.02,
                                           0.025,  0.07,   0.1,       0.2,    0.25,  0.4,    0.5,   0.99,
                                           1,      2,      2.5,       4.2,    5,     9.99,   10,    29,
                                           30,     59.5,   60,        61,     3600,  0,      -0.25, 0.000123};

TEST(LoopCollector, HistogramSameTextAsPrometheusHistogram) {
  prometheus::Registry reg;
  auto& theirs = prometheus::BuildHistogram()
                     .Name("hearth_request_duration_seconds")
                     .Help("Time from a complete request to the end of its response, measured at the proxy.")
                     .Register(reg)
                     .Add({{"method", "GET"}, {"status", "2xx"}}, latency_buckets());
  LoopCollector loop;
  LoopHistogram& ours = loop.add_histogram("hearth_request_duration_seconds",
                                           "Time from a complete request to the end of its response, measured at "
                                           "the proxy.",
                                           {"method", "status"}, latency_buckets())
                            .add({"GET", "2xx"});
  EXPECT_EQ(expose({&loop}), expose({&reg}));  // no observations yet: zero buckets
  for (double v : kObservations) {
    theirs.Observe(v);
    ours.observe(v);
  }
  const std::string text = expose({&loop});
  EXPECT_EQ(text, expose({&reg}));
  // 0.0005, 0.001, 0, -0.25 and 0.000123 are <= 0.001.
  const std::string bucket = "hearth_request_duration_seconds_bucket{method=\"GET\",status=\"2xx\",";
  EXPECT_THAT(text, HasSubstr(bucket + "le=\"0.001\"} 5\n"));
  EXPECT_THAT(text, HasSubstr(bucket + "le=\"+Inf\"} 32\n"));
  EXPECT_THAT(text, HasSubstr("hearth_request_duration_seconds_count{method=\"GET\",status=\"2xx\"} 32\n"));
}

TEST(LoopCollector, HistogramWithoutLabelsAndInfinitySameText) {
  const std::vector<double> bounds{0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120};
  prometheus::Registry reg;
  auto& theirs = prometheus::BuildHistogram().Name("boot_seconds").Help("Boot.").Register(reg).Add({}, bounds);
  LoopCollector loop;
  LoopHistogram& ours = loop.add_histogram("boot_seconds", "Boot.", {}, bounds).add({});
  for (double v : {0.3, 120.0, 121.0, std::numeric_limits<double>::infinity()}) {
    theirs.Observe(v);
    ours.observe(v);
  }
  EXPECT_EQ(expose({&loop}), expose({&reg}));
  EXPECT_THAT(expose({&loop}), HasSubstr("boot_seconds_sum +Inf\n"));
}

TEST(LoopCollector, HistogramNanInTheFirstBucketAsPrometheus) {
  const std::vector<double> bounds{0.5, 1};
  prometheus::Registry reg;
  auto& theirs = prometheus::BuildHistogram().Name("h").Help("H.").Register(reg).Add({}, bounds);
  LoopCollector loop;
  LoopHistogram& ours = loop.add_histogram("h", "H.", {}, bounds).add({});
  for (double v : {0.75, std::nan("")}) {
    theirs.Observe(v);
    ours.observe(v);
  }
  EXPECT_EQ(expose({&loop}), expose({&reg}));
  EXPECT_THAT(expose({&loop}), HasSubstr("h_bucket{le=\"0.5\"} 1\n"));
}

TEST(LoopCollector, CounterAndGaugeSameTextAsPrometheus) {
  prometheus::Registry reg;
  auto& their_bytes = prometheus::BuildCounter().Name("bytes_total").Help("Bytes.").Register(reg).Add({});
  auto& their_gauge = prometheus::BuildGauge().Name("in_flight").Help("In flight.").Register(reg).Add({});
  LoopCollector loop;
  LoopCounter& our_bytes = loop.add_counter("bytes_total", "Bytes.", {}).add({});
  LoopGauge& our_gauge = loop.add_gauge("in_flight", "In flight.", {}).add({});
  EXPECT_EQ(expose({&loop}), expose({&reg}));  // zeros
  for (uint64_t n : {0ULL, 1ULL, 1234567ULL, 9007199254740000ULL}) {
    their_bytes.Increment(static_cast<double>(n));
    our_bytes.increment(n);
  }
  for (int i = 0; i < 5; ++i) {
    their_gauge.Increment();
    our_gauge.increment();
  }
  their_gauge.Decrement();
  our_gauge.decrement();
  EXPECT_EQ(expose({&loop}), expose({&reg}));
  EXPECT_THAT(expose({&loop}), HasSubstr("in_flight 4\n"));
}

TEST(LoopCollector, SeriesLabelsSortedByNameAsPrometheusLabels) {
  // prometheus::Labels is a std::map: a series' labels come out sorted by name,
  // whatever order the family lists them in. Series order within a family is
  // prometheus-cpp's hash order there, creation order here: lines compared sorted.
  prometheus::Registry reg;
  auto& theirs = prometheus::BuildCounter().Name("requests_total").Help("Requests.").Register(reg);
  LoopCollector loop;
  auto& ours = loop.add_counter("requests_total", "Requests.", {"status", "method"});
  struct {
    const char* method;
    const char* status;
    int n;
  } const series[] = {{"GET", "2xx", 3}, {"POST", "5xx", 1}, {"other", "none", 2}, {"GET", "4xx", 7}};
  for (auto& s : series) {
    for (int i = 0; i < s.n; ++i) {
      theirs.Add({{"method", s.method}, {"status", s.status}}).Increment();
      ours.add({s.status, s.method}).increment();
    }
  }
  const std::string text = expose({&loop});
  EXPECT_EQ(sorted_lines(text), sorted_lines(expose({&reg})));
  EXPECT_THAT(text, HasSubstr("requests_total{method=\"GET\",status=\"4xx\"} 7\n"));
  // add() with the same values is the same series.
  EXPECT_EQ(&ours.add({"2xx", "GET"}), &ours.add({"2xx", "GET"}));
}

TEST(LoopCollector, FamilyWithoutSeriesWritesNothingAsPrometheus) {
  prometheus::Registry reg;
  prometheus::BuildCounter().Name("static_total").Help("Static.").Register(reg);
  prometheus::BuildHistogram().Name("queue_seconds").Help("Queue.").Register(reg);
  LoopCollector loop;
  loop.add_counter("static_total", "Static.", {"status"});
  loop.add_histogram("queue_seconds", "Queue.", {"method"}, latency_buckets());
  EXPECT_EQ(expose({&reg}), "");
  EXPECT_EQ(expose({&loop}), "");
}

TEST(LoopCollector, FamiliesInTheOrderAdded) {
  LoopCollector loop;
  loop.add_counter("zzz_total", "Z.", {}).add({}).increment();
  loop.add_gauge("aaa", "A.", {}).add({});
  loop.add_histogram("mmm_seconds", "M.", {}, {1}).add({}).observe(0.5);
  const std::string text = expose({&loop});
  EXPECT_LT(text.find("zzz_total"), text.find("aaa"));
  EXPECT_LT(text.find("aaa"), text.find("mmm_seconds"));
}

TEST(LoopCollector, BadNamesHelpLabelsAndBoundsRefusedAtStartUp) {
  LoopCollector loop;
  EXPECT_THROW(loop.add_counter("bad name", "B.", {}), std::invalid_argument);
  EXPECT_THROW(loop.add_counter("ok_total", "B.", {"bad-label"}), std::invalid_argument);
  EXPECT_THROW(loop.add_gauge("g", "two\nlines", {}), std::invalid_argument);
  EXPECT_THROW(loop.add_histogram("h", "H.", {}, {1, 0.5}), std::invalid_argument);
  auto& f = loop.add_counter("c_total", "C.", {"a", "b"});
  EXPECT_THROW(f.add({"only one"}), std::invalid_argument);
}

}  // namespace
}  // namespace hearth::metrics
