#pragma once
// The command-line stage of the pipeline, gunicorn-compatible where gunicorn
// has the same setting. Two steps, because precedence needs the config file
// (named by -c) read before the flags are applied over it:
//   1. parse_command_line: split argv into flags and values, find -c, the
//      action (--help, --version, --check-config) and syntax errors
//      (unknown flag, missing value, stray argument);
//   2. apply_command_line: apply each flag over the file+env Config, checking
//      its value ("--workers: expected a non-negative integer, got 'x'").
// One table in cli.cc describes every flag; the help text is built from it.
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/loader.h"
#include "config/provenance.h"

namespace hearth::config {

struct FlagSpec;  // one row of the flag table (cli.cc)

struct CommandLine {
  // One flag occurrence with its value, in argv order.
  struct Setting {
    const FlagSpec* flag = nullptr;  // nullptr for the positional APP
    std::string as_typed;            // "-w", "--workers", or "APP", for messages
    std::string value;
  };
  Action action = Action::Run;
  std::optional<std::string> config_file;  // -c/--config
  bool sets_bind = false;                  // -b given: $PORT does not apply
  bool sets_workers = false;               // -w given: $WEB_CONCURRENCY does not apply
  std::vector<Setting> settings;
  std::vector<std::string> errors;
};

CommandLine parse_command_line(const std::vector<std::string>& args);

// Applies the settings in order. -b and --pythonpath replace the file's list
// on their first use and append after that; --env adds to (and overrides
// single variables of) the file's env table.
void apply_command_line(const CommandLine& cl, Config& cfg, Provenance& prov, std::vector<std::string>& errors);

// "usage: hearthd [OPTIONS] [APP]" followed by every flag, grouped, with defaults.
std::string help_text();

// Every long flag name ("--workers"), for tests and shell completion.
std::vector<std::string> long_flags();

// One flag as the reference shows it.
struct FlagInfo {
  std::string synopsis;  // "-w, --workers N"
  std::string key;       // the config key it sets ("workers"), "" for none
  std::string help;
  std::string group;     // heading in --help
  bool from_schema = false;  // the value is parsed and set by the key's schema Field
};
// Every flag, in --help order.
std::vector<FlagInfo> flag_infos();

}  // namespace hearth::config
