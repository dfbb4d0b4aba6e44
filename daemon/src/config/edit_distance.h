#pragma once
// Levenshtein distance, for "did you mean ...?" hints on unknown keys and flags.
#include <cstddef>
#include <string_view>

namespace hearth::config {

size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace hearth::config
