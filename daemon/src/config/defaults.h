#pragma once
// The first stage of the pipeline: built-in defaults, and the values that are
// resolved from the machine once every source has been applied.
#include <string>

#include "config/config.h"

namespace hearth::config {

// Config{} plus the defaults that need more than a member initializer
// (binds = ["127.0.0.1:8000"]).
Config default_config();

// Where request and response bodies are spooled: `configured` (the temp_dir
// key) when set, else $TMPDIR when set, else /tmp. The one place that decides
// it: the daemon's listeners and http::Spool both ask here.
std::string effective_temp_dir(const std::string& configured);

// workers == 0 means "2 x cores + 1"; cores == 0 (unknown) counts as 1.
void resolve_workers(Config& cfg, unsigned cores);

}  // namespace hearth::config
