// process_* from fixed /proc text, and from this test process itself.
#include "metrics/process_collector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <ctime>
#include <map>

#include "metrics/exposition.h"

namespace hearth::metrics {
namespace {

using ::testing::HasSubstr;

// A real line (cat), with the command changed to one holding spaces and ')'.
const char* kStat =
    "22473 (a) b) c) R 22468 22468 7231 0 -1 4194304 100 0 0 0 11 4 0 0 20 0 1 0 73516 3133440 390 "
    "18446744073709551615 94374162649088 94374162668969 140727122462528 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n";

TEST(ParseProcStat, FieldsCountedAfterTheLastParenthesis) {
  auto s = parse_proc_stat(kStat);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->utime_ticks, 11u);
  EXPECT_EQ(s->stime_ticks, 4u);
  EXPECT_EQ(s->starttime_ticks, 73516u);
  EXPECT_EQ(s->vsize_bytes, 3133440u);
  EXPECT_EQ(s->rss_pages, 390);
}

TEST(ParseProcStat, TruncatedOrGarbledIsNullopt) {
  EXPECT_FALSE(parse_proc_stat(""));
  EXPECT_FALSE(parse_proc_stat("1 (x) R 1 2 3"));
  EXPECT_FALSE(parse_proc_stat("no parenthesis at all"));
  std::string bad = kStat;
  bad.replace(bad.find("3133440"), 7, "3133x40");
  EXPECT_FALSE(parse_proc_stat(bad));
}

TEST(ParseBootTime, FindsTheBtimeLine) {
  EXPECT_EQ(parse_boot_time("cpu  1 2 3\nintr 5\nbtime 1733500000\nprocesses 9\n"), 1733500000);
  EXPECT_FALSE(parse_boot_time("cpu  1 2 3\n"));
  EXPECT_FALSE(parse_boot_time("btime soon\n"));
}

TEST(ProcessFamilies, StandardNamesAndTypes) {
  ProcessSample s;
  s.cpu_seconds = 1.5;
  s.resident_bytes = 67108864;
  s.virtual_bytes = 134217728;
  s.open_fds = 12;
  s.max_fds = 1024;
  s.start_time_seconds = 1733500000.25;
  std::map<std::string, prometheus::MetricType> types;
  for (auto& f : process_families(s)) types[f.name] = f.type;
  EXPECT_EQ(types, (std::map<std::string, prometheus::MetricType>{
                       {"process_cpu_seconds_total", prometheus::MetricType::Counter},
                       {"process_resident_memory_bytes", prometheus::MetricType::Gauge},
                       {"process_virtual_memory_bytes", prometheus::MetricType::Gauge},
                       {"process_open_fds", prometheus::MetricType::Gauge},
                       {"process_max_fds", prometheus::MetricType::Gauge},
                       {"process_start_time_seconds", prometheus::MetricType::Gauge}}));
  s.open_fds.reset();  // /proc/self/fd unreadable: left out, not reported as 0
  for (auto& f : process_families(s)) EXPECT_NE(f.name, "process_open_fds");
}

double sample(const std::string& text, const std::string& name) {
  auto at = text.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + name.size() + 2));
}

TEST(ProcessCollector, ThisProcess) {
  ProcessCollector c;
  int extra[2];
  ASSERT_EQ(::pipe(extra), 0);
  std::string text = expose({&c});
  double fds = sample(text, "process_open_fds");
  ::close(extra[0]);
  ::close(extra[1]);
  double fewer = sample(expose({&c}), "process_open_fds");
  EXPECT_GE(fds, 5);  // stdio and the pipe at least
  EXPECT_EQ(fewer, fds - 2);
  EXPECT_GT(sample(text, "process_resident_memory_bytes"), 1 << 20);
  EXPECT_GE(sample(text, "process_virtual_memory_bytes"), sample(text, "process_resident_memory_bytes"));
  EXPECT_GE(sample(text, "process_cpu_seconds_total"), 0);
  EXPECT_GT(sample(text, "process_max_fds"), 0);
  // Started after boot and not in the future (a margin for clock granularity).
  double start = sample(text, "process_start_time_seconds");
  EXPECT_LE(start, static_cast<double>(std::time(nullptr)) + 2);
  EXPECT_GT(start, static_cast<double>(std::time(nullptr)) - 3600);
  EXPECT_THAT(text, HasSubstr("# TYPE process_cpu_seconds_total counter\n"));
}

}  // namespace
}  // namespace hearth::metrics
