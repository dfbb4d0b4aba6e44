#pragma once
// The last stage of the pipeline: rules across fields, checked on the fully
// merged and resolved Config. Each message starts with where the offending
// value came from (see Provenance).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/loader.h"
#include "config/provenance.h"

namespace hearth::config {

// "module:callable" or "module:factory()", the module a dotted Python
// identifier path ("pkg.sub.wsgi"), the callable an identifier.
bool is_app_spec(std::string_view app);

// Range limits checked by validate().
inline constexpr uint64_t kMinHeaderSize = 1024;           // http.max_header_size
inline constexpr uint32_t kMaxH2WindowSize = 2147483647;   // http.http2_initial_window_size (2^31-1)

std::vector<std::string> validate(const Config& cfg, Action action, const Provenance& prov);

// Where a [[static]] mount's files are: `dir` as written when absolute, else
// relative to `chdir` (when set), else to the daemon's cwd.
std::string static_root(const Config& cfg, const StaticMount& m);

// Where an [[error_page]] file is, by the same rule.
std::string error_page_path(const Config& cfg, const ErrorPage& p);

}  // namespace hearth::config
