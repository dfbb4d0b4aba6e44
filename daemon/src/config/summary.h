#pragma once
// The effective configuration written back as TOML, for --check-config and
// logs. The output is itself a valid config file: loading it gives the same
// Config (config_file and runtime_dir are written as comments).
#include <string>
#include <string_view>

#include "config/config.h"

namespace hearth::config {

std::string to_toml(const Config& cfg);

// `s` as a TOML basic string, quotes included (written by Boost.JSON: JSON's
// escapes are TOML's; DEL is escaped too). The summary and the generated
// reference quote with it.
std::string toml_quote(std::string_view s);

}  // namespace hearth::config
