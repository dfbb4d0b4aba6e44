#include "config/defaults.h"

#include "config/bind.h"

namespace hearth::config {

Config default_config() {
  Config cfg;
  cfg.binds = {*parse_bind("127.0.0.1:8000")};
  return cfg;
}

void resolve_workers(Config& cfg, unsigned cores) {
  if (cfg.workers == 0) cfg.workers = 2 * (cores == 0 ? 1u : cores) + 1;
}

}  // namespace hearth::config
