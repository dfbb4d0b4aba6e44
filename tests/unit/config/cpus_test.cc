// The default worker count's CPU figure: affinity mask and cgroup v2 quota.
#include "config/cpus.h"

#include <gtest/gtest.h>

namespace hearth::config {
namespace {

TEST(CpuMax, QuotaRoundsUp) {
  EXPECT_EQ(cpu_max_cpus("100000 100000\n"), 1u);
  EXPECT_EQ(cpu_max_cpus("150000 100000"), 2u);  // docker --cpus=1.5
  EXPECT_EQ(cpu_max_cpus("50000 100000"), 1u);   // half a CPU is still one worker's CPU
  EXPECT_EQ(cpu_max_cpus("400000 100000"), 4u);
}

TEST(CpuMax, NoQuotaOrGarbage) {
  EXPECT_EQ(cpu_max_cpus("max 100000\n"), std::nullopt);
  EXPECT_EQ(cpu_max_cpus(""), std::nullopt);
  EXPECT_EQ(cpu_max_cpus("100000"), std::nullopt);
  EXPECT_EQ(cpu_max_cpus("x 100000"), std::nullopt);
  EXPECT_EQ(cpu_max_cpus("100000 0"), std::nullopt);
}

TEST(UsableCpus, AffinityThenQuota) {
  EXPECT_EQ(usable_cpus(1, 2, std::nullopt), 1u);         // taskset -c 0 on a 2-CPU host
  EXPECT_EQ(usable_cpus(8, 8, "max 100000"), 8u);         // no quota
  EXPECT_EQ(usable_cpus(8, 8, "200000 100000"), 2u);      // docker --cpus=2 on 8 CPUs
  EXPECT_EQ(usable_cpus(2, 8, "400000 100000"), 2u);      // the mask is smaller than the quota
  EXPECT_EQ(usable_cpus(0, 4, std::nullopt), 4u);         // affinity unknown: online CPUs
  EXPECT_EQ(usable_cpus(0, 0, std::nullopt), 1u);         // never 0
}

TEST(CgroupV2Path, FromProcSelfCgroup) {
  EXPECT_EQ(cgroup_v2_path("0::/system.slice/hearth.service\n"), "/system.slice/hearth.service");
  EXPECT_EQ(cgroup_v2_path("0::/\n"), "/");
  // cgroup v1 (hybrid lines before the unified one, or none)
  EXPECT_EQ(cgroup_v2_path("12:cpu,cpuacct:/x\n0::/y\n"), "/y");
  EXPECT_EQ(cgroup_v2_path("12:cpu,cpuacct:/x\n"), std::nullopt);
}

}  // namespace
}  // namespace hearth::config
