#pragma once
// The first stage of the pipeline: built-in defaults, and the values that are
// resolved from the machine once every source has been applied.
#include "config/config.h"

namespace hearth::config {

// Config{} plus the defaults that need more than a member initializer
// (binds = ["127.0.0.1:8000"]).
Config default_config();

// workers == 0 means "2 x cores + 1"; cores == 0 (unknown) counts as 1.
void resolve_workers(Config& cfg, unsigned cores);

}  // namespace hearth::config
