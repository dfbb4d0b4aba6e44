#pragma once
// Human output for hearthctl: the daemon's JSON answers as tables and lines.
#include <string>
#include <string_view>

namespace hearth::ctl {
std::string format_status(std::string_view json);
std::string format_message(std::string_view json);
}  // namespace hearth::ctl
