// The Prometheus text exposition format (0.0.4) as the registry writes it.
#include "metrics/registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

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

TEST(FormatValue, IntegersHaveNoExponentOrFraction) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(1), "1");
  EXPECT_EQ(format_value(-3), "-3");
  EXPECT_EQ(format_value(1234567890123.0), "1234567890123");
  // 64 MiB in bytes: memory gauges must not come out as 6.7108864e+07.
  EXPECT_EQ(format_value(67108864.0), "67108864");
}

TEST(FormatValue, FloatsRoundTrip) {
  EXPECT_EQ(format_value(0.5), "0.5");
  EXPECT_EQ(format_value(0.001), "0.001");
  EXPECT_EQ(format_value(2.5), "2.5");
  EXPECT_EQ(std::stod(format_value(0.1 + 0.2)), 0.1 + 0.2);
  EXPECT_EQ(std::stod(format_value(1.0 / 3.0)), 1.0 / 3.0);
}

TEST(FormatValue, HugeIntegralValuesStayParseable) {
  // Beyond 1e15 the shortest round-trip form is used; it must still parse back.
  double big = 1e20;
  EXPECT_EQ(std::stod(format_value(big)), big);
}

TEST(FormatValue, SpecialValues) {
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

TEST(Escaping, LabelValuesEscapeBackslashQuoteAndNewline) {
  EXPECT_EQ(escape_label_value("plain"), "plain");
  EXPECT_EQ(escape_label_value("a\\b"), "a\\\\b");
  EXPECT_EQ(escape_label_value("say \"hi\""), "say \\\"hi\\\"");
  EXPECT_EQ(escape_label_value("two\nlines"), "two\\nlines");
  EXPECT_EQ(escape_label_value("\\\"\n"), "\\\\\\\"\\n");
}

TEST(Escaping, HelpEscapesBackslashAndNewlineButNotQuotes) {
  EXPECT_EQ(escape_help("a \"quoted\" word"), "a \"quoted\" word");
  EXPECT_EQ(escape_help("back\\slash"), "back\\\\slash");
  EXPECT_EQ(escape_help("line\nbreak"), "line\\nbreak");
}

TEST(FormatLabels, EmptyWhenNoLabels) { EXPECT_EQ(format_labels({}, {}), ""); }

TEST(FormatLabels, DeclaredOrderAndExtraLabelLast) {
  EXPECT_EQ(format_labels({"method", "status"}, {"GET", "2xx"}), R"({method="GET",status="2xx"})");
  EXPECT_EQ(format_labels({"method"}, {"GET"}, "le", "0.5"), R"({method="GET",le="0.5"})");
  EXPECT_EQ(format_labels({}, {}, "le", "+Inf"), R"({le="+Inf"})");
}

TEST(Registry, CounterHasHelpTypeAndSample) {
  Registry reg;
  reg.counter("x_total", "Things that happened.").with({}).inc(3);
  EXPECT_EQ(reg.expose(),
            "# HELP x_total Things that happened.\n"
            "# TYPE x_total counter\n"
            "x_total 3\n");
}

TEST(Registry, HelpTextIsEscaped) {
  Registry reg;
  reg.gauge("g", "first line\nsecond \\ line").with({}).set(1);
  EXPECT_THAT(reg.expose(), HasSubstr("# HELP g first line\\nsecond \\\\ line\n"));
}

TEST(Registry, FamilyWithoutChildrenStillHasHeaders) {
  Registry reg;
  reg.counter("empty_total", "No samples yet.", {"a"});
  EXPECT_EQ(reg.expose(), "# HELP empty_total No samples yet.\n# TYPE empty_total counter\n");
}

TEST(Registry, LabelsInDeclaredOrderNotAlphabetical) {
  Registry reg;
  auto& f = reg.counter("r_total", "Requests.", {"status", "method"});  // z..a on purpose
  f.with({"2xx", "GET"}).inc();
  EXPECT_THAT(reg.expose(), HasSubstr("r_total{status=\"2xx\",method=\"GET\"} 1\n"));
}

TEST(Registry, LabelValuesEscapedInSamples) {
  Registry reg;
  auto& f = reg.gauge("g", "G.", {"path"});
  f.with({"C:\\dir \"x\"\nnext"}).set(2);
  EXPECT_THAT(reg.expose(), HasSubstr("g{path=\"C:\\\\dir \\\"x\\\"\\nnext\"} 2\n"));
}

TEST(Registry, SameLabelsReturnTheSameChild) {
  Registry reg;
  auto& f = reg.counter("c_total", "C.", {"k"});
  f.with({"a"}).inc();
  f.with({"a"}).inc(2);
  f.with({"b"}).inc();
  EXPECT_EQ(f.with({"a"}).value(), 3);
  EXPECT_EQ(f.children().size(), 2u);
  std::string text = reg.expose();
  EXPECT_THAT(text, HasSubstr("c_total{k=\"a\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("c_total{k=\"b\"} 1\n"));
}

TEST(Registry, GaugeSetAndAdd) {
  Registry reg;
  auto& g = reg.gauge("in_flight", "In flight.").with({});
  g.set(5);
  g.add(-2);
  g.add(0.5);
  EXPECT_THAT(reg.expose(), HasSubstr("in_flight 3.5\n"));
}

TEST(Registry, FamiliesInRegistrationOrder) {
  Registry reg;
  reg.gauge("zzz", "Z.").with({}).set(1);
  reg.counter("aaa_total", "A.").with({}).inc();
  std::string text = reg.expose();
  EXPECT_LT(text.find("zzz"), text.find("aaa_total"));
}

TEST(Histogram, BucketsAreCumulativeWithInfSumAndCount) {
  Registry reg;
  auto& f = reg.histogram("lat_seconds", "Latency.", {"method"}, {0.125, 0.5, 1});
  auto& h = f.with({"GET"});
  // Binary fractions, so the sum is exact.
  h.observe(0.0625);  // <= 0.125
  h.observe(0.125);   // le is inclusive: still the 0.125 bucket
  h.observe(0.25);    // <= 0.5
  h.observe(0.75);    // <= 1
  h.observe(5);       // +Inf only
  EXPECT_EQ(reg.expose(),
            "# HELP lat_seconds Latency.\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{method=\"GET\",le=\"0.125\"} 2\n"
            "lat_seconds_bucket{method=\"GET\",le=\"0.5\"} 3\n"
            "lat_seconds_bucket{method=\"GET\",le=\"1\"} 4\n"
            "lat_seconds_bucket{method=\"GET\",le=\"+Inf\"} 5\n"
            "lat_seconds_sum{method=\"GET\"} 6.1875\n"
            "lat_seconds_count{method=\"GET\"} 5\n");
  EXPECT_EQ(h.count(), 5u);
  EXPECT_EQ(h.cumulative(3), h.count());
}

TEST(Histogram, UnlabelledHistogramHasOnlyLe) {
  Registry reg;
  reg.histogram("boot_seconds", "Boot.", {}, {1, 10}).with({}).observe(2);
  std::string text = reg.expose();
  EXPECT_THAT(text, HasSubstr("boot_seconds_bucket{le=\"1\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("boot_seconds_bucket{le=\"10\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("boot_seconds_bucket{le=\"+Inf\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("boot_seconds_sum 2\n"));
  EXPECT_THAT(text, HasSubstr("boot_seconds_count 1\n"));
}

TEST(Histogram, CountEqualsInfBucketForEveryLabelSet) {
  Registry reg;
  auto& f = reg.histogram("d", "D.", {"status"}, latency_buckets());
  for (int i = 0; i < 100; ++i) f.with({i % 3 ? "2xx" : "5xx"}).observe(i * 0.01);
  for (auto& [labels, h] : f.children()) {
    EXPECT_EQ(h->cumulative(f.bounds.size()), h->count());
    for (std::size_t i = 1; i <= f.bounds.size(); ++i) EXPECT_LE(h->cumulative(i - 1), h->cumulative(i));
  }
}

TEST(Histogram, BucketsMustIncrease) {
  Registry reg;
  EXPECT_THROW(reg.histogram("bad", "B.", {}, {1, 1}), std::invalid_argument);
  EXPECT_THROW(reg.histogram("bad2", "B.", {}, {2, 1}), std::invalid_argument);
}

TEST(Histogram, DefaultLatencyBucketsIncreaseFromOneMsToAMinute) {
  const auto& b = latency_buckets();
  ASSERT_FALSE(b.empty());
  EXPECT_DOUBLE_EQ(b.front(), 0.001);
  EXPECT_DOUBLE_EQ(b.back(), 60);
  for (std::size_t i = 1; i < b.size(); ++i) EXPECT_GT(b[i], b[i - 1]);
}

TEST(Callback, GaugeFamilyEvaluatedAtScrapeTime) {
  Registry reg;
  int calls = 0;
  double ready = 2;
  reg.callback("workers", "Workers by state.", {"state"}, [&](const Registry::Emit& emit) {
    ++calls;
    emit({"ready"}, ready);
    emit({"booting"}, 0);
  });
  EXPECT_EQ(calls, 0);
  std::string first = reg.expose();
  EXPECT_EQ(first,
            "# HELP workers Workers by state.\n"
            "# TYPE workers gauge\n"
            "workers{state=\"ready\"} 2\n"
            "workers{state=\"booting\"} 0\n");
  ready = 3;
  EXPECT_THAT(reg.expose(), HasSubstr("workers{state=\"ready\"} 3\n"));
  EXPECT_EQ(calls, 2);
}

TEST(Callback, CounterCallbackIsTypedCounter) {
  Registry reg;
  reg.callback("restarts_total", "Restarts.", {"reason"},
               [](const Registry::Emit& emit) { emit({"crash"}, 1); }, /*is_counter=*/true);
  std::string text = reg.expose();
  EXPECT_THAT(text, HasSubstr("# TYPE restarts_total counter\n"));
  EXPECT_THAT(text, HasSubstr("restarts_total{reason=\"crash\"} 1\n"));
}

TEST(Callback, EmittingNothingLeavesOnlyHeaders) {
  Registry reg;
  reg.callback("maybe", "Sometimes absent.", {}, [](const Registry::Emit&) {});
  EXPECT_EQ(reg.expose(), "# HELP maybe Sometimes absent.\n# TYPE maybe gauge\n");
}

TEST(Callback, LabelValuesEscapedAndSpecialValues) {
  Registry reg;
  reg.callback("v", "V.", {"version"}, [](const Registry::Emit& emit) {
    emit({"1.0\"beta\""}, std::numeric_limits<double>::quiet_NaN());
  });
  EXPECT_THAT(reg.expose(), HasSubstr("v{version=\"1.0\\\"beta\\\"\"} NaN\n"));
}

TEST(Exposition, EveryLineIsCommentOrSampleAndEndsWithNewline) {
  Registry reg;
  reg.counter("a_total", "A.", {"x"}).with({"1"}).inc();
  reg.histogram("b_seconds", "B.", {}, {1}).with({}).observe(0.5);
  reg.callback("c", "C.", {}, [](const Registry::Emit& emit) { emit({}, 1); });
  std::string text = reg.expose();
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
