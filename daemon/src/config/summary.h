#pragma once
// The effective configuration written back as TOML, for --check-config and
// logs. The output is itself a valid config file: loading it gives the same
// Config (config_file and runtime_dir are written as comments).
#include <string>

#include "config/config.h"

namespace hearth::config {

std::string to_toml(const Config& cfg);

}  // namespace hearth::config
