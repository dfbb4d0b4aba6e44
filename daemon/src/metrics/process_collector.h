#pragma once
// The standard process_* metrics of Prometheus client libraries, for hearthd
// itself (not its children): CPU time, resident and virtual memory, open and
// maximum file descriptors, start time. Read from /proc/self at scrape time.
// prometheus-cpp core has no process collector, so this is one Collectable;
// the parsing is pure and tested on fixed /proc text (tests/unit/metrics).
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::metrics {

// The fields of /proc/PID/stat that process_* needs (proc(5) numbering).
struct ProcStat {
  unsigned long long utime_ticks = 0;      // 14
  unsigned long long stime_ticks = 0;      // 15
  unsigned long long starttime_ticks = 0;  // 22, clock ticks after boot
  unsigned long long vsize_bytes = 0;      // 23
  long long rss_pages = 0;                 // 24
};

// Parses the one line of /proc/PID/stat. The command (field 2) is in
// parentheses and may hold spaces and ')': fields are counted after the last ')'.
std::optional<ProcStat> parse_proc_stat(std::string_view text);

// The "btime" line of /proc/stat: boot time, seconds since the epoch.
std::optional<long long> parse_boot_time(std::string_view proc_stat_text);

// What one scrape reports; split from the reading so tests can check the
// families without /proc.
struct ProcessSample {
  double cpu_seconds = 0;
  double resident_bytes = 0;
  double virtual_bytes = 0;
  std::optional<double> open_fds;
  std::optional<double> max_fds;
  std::optional<double> start_time_seconds;
};
std::vector<prometheus::MetricFamily> process_families(const ProcessSample& s);

class ProcessCollector final : public prometheus::Collectable {
 public:
  ProcessCollector();  // reads the start time once (it does not change)
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::optional<double> start_time_;
  double ticks_per_second_;
  double page_size_;
};

}  // namespace hearth::metrics
