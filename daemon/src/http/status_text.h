#pragma once
#include <string_view>

namespace hearth::http {

// Standard reason phrase for `status`, or "Unknown".
std::string_view reason_phrase(int status);

}  // namespace hearth::http
