#include "supervisor/memory.h"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <string>

namespace hearth::supervisor {

std::optional<MemoryUsage> parse_smaps_rollup(std::string_view text) {
  MemoryUsage m;
  bool have_rss = false;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = line.substr(0, colon);
    std::string_view rest = line.substr(colon + 1);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    uint64_t kb = 0;
    auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), kb);
    if (ec != std::errc()) continue;
    uint64_t bytes = kb * 1024;
    if (key == "Rss") {
      m.rss = bytes;
      have_rss = true;
    } else if (key == "Pss") {
      m.pss = bytes;
    } else if (key == "Private_Clean" || key == "Private_Dirty") {
      m.uss += bytes;
    } else if (key == "Shared_Clean" || key == "Shared_Dirty") {
      m.shared += bytes;
    }
  }
  if (!have_rss) return std::nullopt;
  return m;
}

std::optional<MemoryUsage> read_memory(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/smaps_rollup";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[4096];
  std::string text;
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return parse_smaps_rollup(text);
}

}  // namespace hearth::supervisor
