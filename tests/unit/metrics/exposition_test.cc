// /metrics as prometheus-cpp's TextSerializer writes it: the registry's
// families, the scrape-time callbacks and what the daemon relies on (cumulative
// histogram buckets, escaping, integers without exponents).
#include "metrics/exposition.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "metrics/callback_collector.h"

namespace hearth::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

TEST(Exposition, CounterHasHelpTypeAndSample) {
  prometheus::Registry reg;
  prometheus::BuildCounter().Name("x_total").Help("Things that happened.").Register(reg).Add({}).Increment(3);
  EXPECT_EQ(expose({&reg}),
            "# HELP x_total Things that happened.\n"
            "# TYPE x_total counter\n"
            "x_total 3\n");
}

TEST(Exposition, LargeIntegralValuesHaveNoExponent) {
  // 64 MiB in bytes: memory gauges must not come out as 6.7108864e+07.
  prometheus::Registry reg;
  auto& f = prometheus::BuildGauge().Name("bytes").Help("B.").Register(reg);
  f.Add({{"k", "a"}}).Set(67108864.0);
  f.Add({{"k", "b"}}).Set(1234567890123.0);
  f.Add({{"k", "c"}}).Set(0.5);
  std::string text = expose({&reg});
  EXPECT_THAT(text, HasSubstr("bytes{k=\"a\"} 67108864\n"));
  EXPECT_THAT(text, HasSubstr("bytes{k=\"b\"} 1234567890123\n"));
  EXPECT_THAT(text, HasSubstr("bytes{k=\"c\"} 0.5\n"));
}

TEST(Exposition, LabelValuesEscaped) {
  prometheus::Registry reg;
  prometheus::BuildGauge().Name("g").Help("G.").Register(reg).Add({{"path", "C:\\dir \"x\"\nnext"}}).Set(2);
  EXPECT_THAT(expose({&reg}), HasSubstr("g{path=\"C:\\\\dir \\\"x\\\"\\nnext\"} 2\n"));
}

TEST(Exposition, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  prometheus::Registry reg;
  auto& h = prometheus::BuildHistogram().Name("lat_seconds").Help("Latency.").Register(reg).Add(
      {{"method", "GET"}}, prometheus::Histogram::BucketBoundaries{0.125, 0.5, 1});
  // Binary fractions, so the sum is exact.
  h.Observe(0.0625);  // <= 0.125
  h.Observe(0.125);   // le is inclusive: still the 0.125 bucket
  h.Observe(0.25);    // <= 0.5
  h.Observe(0.75);    // <= 1
  h.Observe(5);       // +Inf only
  std::string text = expose({&reg});
  EXPECT_THAT(text, HasSubstr("# TYPE lat_seconds histogram\n"));
  EXPECT_THAT(text, HasSubstr("lat_seconds_bucket{method=\"GET\",le=\"0.125\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("lat_seconds_bucket{method=\"GET\",le=\"0.5\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("lat_seconds_bucket{method=\"GET\",le=\"1\"} 4\n"));
  EXPECT_THAT(text, HasSubstr("lat_seconds_bucket{method=\"GET\",le=\"+Inf\"} 5\n"));
  EXPECT_THAT(text, HasSubstr("lat_seconds_sum{method=\"GET\"} 6.1875\n"));
  EXPECT_THAT(text, HasSubstr("lat_seconds_count{method=\"GET\"} 5\n"));
  // The buckets in increasing le order, as Prometheus expects them.
  EXPECT_LT(text.find("le=\"0.125\""), text.find("le=\"0.5\""));
  EXPECT_LT(text.find("le=\"1\""), text.find("le=\"+Inf\""));
}

TEST(Exposition, SourcesInTheOrderGiven) {
  prometheus::Registry reg;
  prometheus::BuildGauge().Name("zzz").Help("Z.").Register(reg).Add({}).Set(1);
  CallbackCollector cb;
  cb.add("aaa", "A.", CallbackCollector::Type::Gauge, {}, [](const CallbackCollector::Emit& emit) { emit({}, 1); });
  std::string text = expose({&reg, &cb});
  EXPECT_LT(text.find("zzz"), text.find("aaa"));
  text = expose({&cb, nullptr, &reg});
  EXPECT_LT(text.find("aaa"), text.find("zzz"));
}

TEST(Exposition, HelpWithNewlineOrBackslashIsRefusedAtRegistration) {
  // prometheus-cpp 1.0.1 writes HELP unescaped: such text would break the format.
  EXPECT_THROW(checked_help("first line\nsecond"), std::invalid_argument);
  EXPECT_THROW(checked_help("back\\slash"), std::invalid_argument);
  EXPECT_EQ(checked_help("a \"quoted\" [[static]] word"), "a \"quoted\" [[static]] word");
  CallbackCollector cb;
  EXPECT_THROW(cb.add("g", "two\nlines", CallbackCollector::Type::Gauge, {}, [](const CallbackCollector::Emit&) {}),
               std::invalid_argument);
}

TEST(Exposition, DefaultLatencyBucketsIncreaseFromOneMsToAMinute) {
  const auto& b = latency_buckets();
  ASSERT_FALSE(b.empty());
  EXPECT_DOUBLE_EQ(b.front(), 0.001);
  EXPECT_DOUBLE_EQ(b.back(), 60);
  for (std::size_t i = 1; i < b.size(); ++i) EXPECT_GT(b[i], b[i - 1]);
}

TEST(Callback, GaugeFamilyEvaluatedAtScrapeTime) {
  CallbackCollector cb;
  int calls = 0;
  double ready = 2;
  cb.add("workers", "Workers by state.", CallbackCollector::Type::Gauge, {"state"},
         [&](const CallbackCollector::Emit& emit) {
           ++calls;
           emit({"ready"}, ready);
           emit({"booting"}, 0);
         });
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(expose({&cb}),
            "# HELP workers Workers by state.\n"
            "# TYPE workers gauge\n"
            "workers{state=\"ready\"} 2\n"
            "workers{state=\"booting\"} 0\n");
  ready = 3;
  EXPECT_THAT(expose({&cb}), HasSubstr("workers{state=\"ready\"} 3\n"));
  EXPECT_EQ(calls, 2);
}

TEST(Callback, CounterCallbackIsTypedCounter) {
  CallbackCollector cb;
  cb.add("restarts_total", "Restarts.", CallbackCollector::Type::Counter, {"reason"},
         [](const CallbackCollector::Emit& emit) { emit({"crash"}, 1); });
  std::string text = expose({&cb});
  EXPECT_THAT(text, HasSubstr("# TYPE restarts_total counter\n"));
  EXPECT_THAT(text, HasSubstr("restarts_total{reason=\"crash\"} 1\n"));
}

TEST(Callback, LabelsInDeclaredOrder) {
  CallbackCollector cb;
  cb.add("mem_bytes", "M.", CallbackCollector::Type::Gauge, {"worker", "kind"},
         [](const CallbackCollector::Emit& emit) { emit({"0", "uss"}, 7); });
  EXPECT_THAT(expose({&cb}), HasSubstr("mem_bytes{worker=\"0\",kind=\"uss\"} 7\n"));
}

TEST(Callback, EmittingNothingLeavesOnlyHeaders) {
  CallbackCollector cb;
  cb.add("maybe", "Sometimes absent.", CallbackCollector::Type::Gauge, {}, [](const CallbackCollector::Emit&) {});
  EXPECT_EQ(expose({&cb}), "# HELP maybe Sometimes absent.\n# TYPE maybe gauge\n");
}

TEST(Callback, BadNamesAreRefused) {
  CallbackCollector cb;
  auto none = [](const CallbackCollector::Emit&) {};
  EXPECT_THROW(cb.add("1bad", "B.", CallbackCollector::Type::Gauge, {}, none), std::invalid_argument);
  EXPECT_THROW(cb.add("ok", "B.", CallbackCollector::Type::Gauge, {"__reserved"}, none), std::invalid_argument);
  EXPECT_NO_THROW(cb.add("ok", "B.", CallbackCollector::Type::Gauge, {"fine"}, none));
}

TEST(Exposition, EveryLineIsCommentOrSampleAndEndsWithNewline) {
  prometheus::Registry reg;
  prometheus::BuildCounter().Name("a_total").Help("A.").Register(reg).Add({{"x", "1"}}).Increment();
  prometheus::BuildHistogram().Name("b_seconds").Help("B.").Register(reg).Add({}, std::vector<double>{1}).Observe(0.5);
  CallbackCollector cb;
  cb.add("c", "C.", CallbackCollector::Type::Gauge, {}, [](const CallbackCollector::Emit& emit) { emit({}, 1); });
  std::string text = expose({&reg, &cb});
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  for (auto& l : lines(text)) {
    ASSERT_FALSE(l.empty());
    if (l[0] == '#') {
      EXPECT_TRUE(l.rfind("# HELP ", 0) == 0 || l.rfind("# TYPE ", 0) == 0) << l;
    } else {
      EXPECT_NE(l.find(' '), std::string::npos) << l;
    }
  }
  EXPECT_THAT(text, Not(HasSubstr("\n\n")));
}

}  // namespace
}  // namespace hearth::metrics
