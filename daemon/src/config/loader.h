#pragma once
// The config pipeline: defaults < TOML file < environment < CLI, then
// cross-field validation. Every error names where it came from:
// "hearth.toml:12:3: http.max_body_size: expected a size like \"10MiB\"",
// "--workers: expected a positive integer, got 'x'", "$PORT: ...".
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"

namespace hearth::config {

enum class Action {
  Run,          // start the daemon
  CheckConfig,  // --check-config: validate, print a summary, exit 0 (or 2 with errors)
  Help,         // --help / -h
  Version,      // --version / -v
  PrintReference,  // --print-config-reference: the generated docs/config.md reference
};

struct LoadResult {
  Action action = Action::Run;
  std::shared_ptr<const Config> config;  // set when errors is empty
  std::vector<std::string> errors;       // each a full, printable message
  std::string help_text;                 // for Action::Help and Action::PrintReference
};

struct LoadInputs {
  std::vector<std::string> args;              // argv[1..]
  std::map<std::string, std::string> env;     // the process environment (PORT, WEB_CONCURRENCY, ...)
  unsigned cores = 1;                         // for the default worker count
  std::string default_runtime_dir;            // where plugins/python is, if not overridden
};

LoadResult load(const LoadInputs& in);

// Parse just a TOML file (no CLI/env), for tests and reload.
LoadResult load_file_only(const std::string& path, unsigned cores);

}  // namespace hearth::config
