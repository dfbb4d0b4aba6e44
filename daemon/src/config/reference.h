#pragma once
// The config reference in Markdown, generated from the schema (schema.h), the
// built-in defaults (as --check-config prints them) and the CLI flag table.
// docs/config.md holds it between the markers below; `make docs` rewrites
// that part and a unit test fails when it is out of date.
#include <string>
#include <string_view>

namespace hearth::config {

inline constexpr std::string_view kReferenceBegin =
    "<!-- BEGIN GENERATED CONFIG REFERENCE (hearthd --print-config-reference; run `make docs`) -->";
inline constexpr std::string_view kReferenceEnd = "<!-- END GENERATED CONFIG REFERENCE -->";

// The text between the markers (without them), ending in a newline.
std::string config_reference_markdown();

}  // namespace hearth::config
