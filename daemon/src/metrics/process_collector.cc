#include "metrics/process_collector.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <iterator>

namespace hearth::metrics {
namespace {

std::string read_file(const char* path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

template <typename T>
bool parse_number(std::string_view s, T* out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// Entries of /proc/self/fd, less the one opendir holds while counting.
std::optional<double> open_fds() {
  DIR* d = ::opendir("/proc/self/fd");
  if (!d) return std::nullopt;
  double n = 0;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n - 1;
}

std::optional<double> max_fds() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return std::nullopt;
  return static_cast<double>(rl.rlim_cur);
}

prometheus::MetricFamily one(const char* name, const char* help, prometheus::MetricType type, double v) {
  prometheus::MetricFamily f{name, help, type, {}};
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter)
    m.counter.value = v;
  else
    m.gauge.value = v;
  f.metric.push_back(std::move(m));
  return f;
}

}  // namespace

std::optional<ProcStat> parse_proc_stat(std::string_view text) {
  auto close = text.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view rest = text.substr(close + 1);
  std::vector<std::string_view> fields;  // fields[0] is field 3 (state)
  std::size_t pos = 0;
  while (pos < rest.size() && fields.size() < 22) {
    while (pos < rest.size() && (rest[pos] == ' ' || rest[pos] == '\n')) ++pos;
    std::size_t end = pos;
    while (end < rest.size() && rest[end] != ' ' && rest[end] != '\n') ++end;
    if (end > pos) fields.push_back(rest.substr(pos, end - pos));
    pos = end;
  }
  if (fields.size() < 22) return std::nullopt;  // through field 24
  auto field = [&](int n) { return fields[static_cast<std::size_t>(n - 3)]; };
  ProcStat s;
  if (!parse_number(field(14), &s.utime_ticks) || !parse_number(field(15), &s.stime_ticks) ||
      !parse_number(field(22), &s.starttime_ticks) || !parse_number(field(23), &s.vsize_bytes) ||
      !parse_number(field(24), &s.rss_pages))
    return std::nullopt;
  return s;
}

std::optional<long long> parse_boot_time(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    std::string_view line = text.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    if (line.substr(0, 6) == "btime ") {
      long long v = 0;
      if (parse_number(line.substr(6), &v)) return v;
      return std::nullopt;
    }
    if (eol == std::string_view::npos) break;
    pos = eol + 1;
  }
  return std::nullopt;
}

std::vector<prometheus::MetricFamily> process_families(const ProcessSample& s) {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> out;
  out.push_back(
      one("process_cpu_seconds_total", "hearthd's own CPU time (user + system).", MetricType::Counter, s.cpu_seconds));
  out.push_back(
      one("process_resident_memory_bytes", "hearthd's own resident memory.", MetricType::Gauge, s.resident_bytes));
  out.push_back(
      one("process_virtual_memory_bytes", "hearthd's own virtual memory size.", MetricType::Gauge, s.virtual_bytes));
  if (s.open_fds)
    out.push_back(one("process_open_fds", "File descriptors hearthd has open.", MetricType::Gauge, *s.open_fds));
  if (s.max_fds)
    out.push_back(one("process_max_fds", "hearthd's limit of open file descriptors (RLIMIT_NOFILE).", MetricType::Gauge,
                      *s.max_fds));
  if (s.start_time_seconds)
    out.push_back(one("process_start_time_seconds", "When hearthd started, seconds since the epoch.", MetricType::Gauge,
                      *s.start_time_seconds));
  return out;
}

ProcessCollector::ProcessCollector()
    : ticks_per_second_(static_cast<double>(::sysconf(_SC_CLK_TCK))),
      page_size_(static_cast<double>(::sysconf(_SC_PAGESIZE))) {
  auto st = parse_proc_stat(read_file("/proc/self/stat"));
  auto boot = parse_boot_time(read_file("/proc/stat"));
  if (st && boot && ticks_per_second_ > 0)
    start_time_ = static_cast<double>(*boot) + static_cast<double>(st->starttime_ticks) / ticks_per_second_;
}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  ProcessSample s;
  if (auto st = parse_proc_stat(read_file("/proc/self/stat"))) {
    s.cpu_seconds = static_cast<double>(st->utime_ticks + st->stime_ticks) / ticks_per_second_;
    s.resident_bytes = static_cast<double>(st->rss_pages) * page_size_;
    s.virtual_bytes = static_cast<double>(st->vsize_bytes);
  }
  s.open_fds = open_fds();
  s.max_fds = max_fds();
  s.start_time_seconds = start_time_;
  return process_families(s);
}

}  // namespace hearth::metrics
