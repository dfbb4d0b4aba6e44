#include "config/cpus.h"
#include "common/ascii.h"

#include <algorithm>
#include <charconv>
#include <cstdint>

namespace hearth::config {

namespace {
std::optional<uint64_t> number(std::string_view s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}
}  // namespace

std::optional<unsigned> cpu_max_cpus(std::string_view cpu_max) {
  cpu_max = ascii::trim_space(cpu_max);
  size_t sp = cpu_max.find(' ');
  if (sp == std::string_view::npos) return std::nullopt;
  auto quota = number(cpu_max.substr(0, sp));  // "max" = no quota
  auto period = number(ascii::trim_space(cpu_max.substr(sp + 1)));
  if (!quota || !period || *period == 0 || *quota == 0) return std::nullopt;
  uint64_t cpus = (*quota + *period - 1) / *period;
  return static_cast<unsigned>(std::clamp<uint64_t>(cpus, 1, 1u << 20));
}

unsigned usable_cpus(unsigned affinity, unsigned online, std::optional<std::string_view> cpu_max) {
  unsigned n = affinity > 0 ? affinity : online;
  if (cpu_max) {
    if (auto q = cpu_max_cpus(*cpu_max)) n = n > 0 ? std::min(n, *q) : *q;
  }
  return std::max(n, 1u);
}

std::optional<std::string_view> cgroup_v2_path(std::string_view text) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (line.substr(0, 3) == "0::") return line.substr(3);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return std::nullopt;
}

}  // namespace hearth::config
