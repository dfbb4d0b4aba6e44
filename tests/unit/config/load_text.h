#pragma once
// Loading a TOML text in the config unit tests: a file with `app = "a:app"` and `text`,
// loaded alone (no CLI, no environment), and every error of the result on its own line.
#include <string>

#include "config/loader.h"
#include "temp_file.h"

namespace hearth::config::testing {

inline LoadResult load_text(const std::string& text) {
  TempDir dir;
  return load_file_only(dir.write("t.toml", "app = \"a:app\"\n" + text), 2);
}

inline std::string all_errors(const LoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += e + "\n";
  return out;
}

}  // namespace hearth::config::testing
