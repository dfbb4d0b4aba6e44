#pragma once
// Memory truth for a process, from /proc/PID/smaps_rollup (Linux 4.14+).
// RSS counts pages shared with the zygote in every worker; PSS splits shared
// pages among their sharers (so PSS sums to the real total); USS (private
// clean + private dirty) is what the process alone costs.
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string_view>

namespace hearth::supervisor {

struct MemoryUsage {
  uint64_t rss = 0;     // bytes
  uint64_t pss = 0;
  uint64_t uss = 0;     // Private_Clean + Private_Dirty
  uint64_t shared = 0;  // Shared_Clean + Shared_Dirty
};

// Parses the text of smaps_rollup (values in kB); nullopt if no Rss line.
std::optional<MemoryUsage> parse_smaps_rollup(std::string_view text);
// Reads /proc/PID/smaps_rollup; nullopt if the process is gone or unreadable.
std::optional<MemoryUsage> read_memory(pid_t pid);

}  // namespace hearth::supervisor
