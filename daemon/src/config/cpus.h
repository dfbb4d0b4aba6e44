#pragma once
// How many CPUs the daemon may really use, for the default worker count
// (2 x CPUs + 1): the CPUs in its affinity mask (taskset, systemd CPUAffinity=,
// docker --cpuset-cpus), lowered by a cgroup v2 CPU quota (docker --cpus,
// systemd CPUQuota=). Pure: main.cc reads the facts and passes them in.
#include <optional>
#include <string_view>

namespace hearth::config {

// The number of CPUs a cgroup v2 `cpu.max` line allows ("150000 100000" ->
// 2, rounded up); nullopt for "max ..." (no quota) or an unreadable line.
std::optional<unsigned> cpu_max_cpus(std::string_view cpu_max);

// min(affinity CPUs, quota CPUs), at least 1. `affinity` 0 = unknown (use `online`).
unsigned usable_cpus(unsigned affinity, unsigned online, std::optional<std::string_view> cpu_max);

// The cgroup v2 path of this process from /proc/self/cgroup's text ("0::/a/b"
// -> "/a/b"); nullopt on a cgroup v1 host.
std::optional<std::string_view> cgroup_v2_path(std::string_view proc_self_cgroup);

}  // namespace hearth::config
