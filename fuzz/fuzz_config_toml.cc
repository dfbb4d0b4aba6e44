// libFuzzer target: the config loader's file stage from TOML text, the same
// steps as config::load_file_only without the file read: defaults, read_toml,
// resolve_workers, validate. Findings: crashes, sanitizer reports, and these
// invariants (abort()):
//  - read_toml returning false (invalid TOML) reports exactly one error;
//  - every error message is non-empty and starts with "fuzz.toml:";
//  - a document that loads without errors is written back by to_toml() (the
//    --check-config summary) as TOML that loads again without errors and
//    summarises identically (summary.h promises "loading it gives the same Config").
// toml++ is built header-only with NDEBUG (fuzz/CMakeLists.txt, docs/testing.md).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "config/defaults.h"
#include "config/loader.h"
#include "config/provenance.h"
#include "config/summary.h"
#include "config/toml_source.h"
#include "config/validate.h"

namespace {

using namespace hearth::config;

void check(bool ok) {
  if (!ok) std::abort();
}

struct Loaded {
  Config cfg;
  std::vector<std::string> errors;
  bool parsed = false;
};

Loaded load_text(std::string_view text) {
  Loaded out;
  out.cfg = default_config();
  Provenance prov;
  out.parsed = read_toml(text, "fuzz.toml", out.cfg, prov, out.errors);
  if (!out.parsed) check(out.errors.size() == 1);
  resolve_workers(out.cfg, 2);
  if (out.parsed) {
    for (auto& e : validate(out.cfg, Action::Run, prov)) out.errors.push_back(std::move(e));
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;  // a config file, not a bulk parser benchmark
  std::string_view text(reinterpret_cast<const char*>(data), size);
  Loaded first = load_text(text);
  for (const auto& e : first.errors) check(!e.empty());
  if (!first.parsed) check(first.errors[0].rfind("fuzz.toml:", 0) == 0);
  if (!first.errors.empty()) return 0;
  std::string summary = to_toml(first.cfg);
  Loaded again = load_text(summary);
  check(again.errors.empty());
  check(to_toml(again.cfg) == summary);
  return 0;
}
