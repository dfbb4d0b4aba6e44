#include "config/defaults.h"

#include <cstdlib>

#include "config/bind.h"

namespace hearth::config {

Config default_config() {
  Config cfg;
  cfg.binds = {*parse_bind("127.0.0.1:8000")};
  return cfg;
}

std::string effective_temp_dir(const std::string& configured) {
  if (!configured.empty()) return configured;
  const char* env = std::getenv("TMPDIR");
  return env != nullptr && *env != '\0' ? env : "/tmp";
}

void resolve_workers(Config& cfg, unsigned cores) {
  if (cfg.workers == 0) cfg.workers = 2 * (cores == 0 ? 1u : cores) + 1;
}

}  // namespace hearth::config
