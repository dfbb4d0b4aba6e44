#pragma once
// The environment stage of the pipeline, between the file and the CLI.
// An empty variable counts as unset.
//   PORT               binds = ["0.0.0.0:$PORT"], unless -b is on the command line
//   WEB_CONCURRENCY    workers, unless -w is on the command line
//   HEARTH_RUNTIME_DIR runtime_dir
// (HEARTH_CONFIG, the config file when -c is absent, is read by the loader.)
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/cli.h"
#include "config/config.h"
#include "config/provenance.h"

namespace hearth::config {

using Environment = std::map<std::string, std::string>;

// The value of `name`, or nullopt when unset or empty.
std::optional<std::string> env_value(const Environment& env, const std::string& name);

// Errors name the variable: "$PORT: expected a port number, got 'abc'".
void apply_environment(const Environment& env, const CommandLine& cl, Config& cfg, Provenance& prov,
                       std::vector<std::string>& errors);

}  // namespace hearth::config
