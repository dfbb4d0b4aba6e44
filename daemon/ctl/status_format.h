#pragma once
// Human output for hearthctl: the daemon's JSON answers as tables and lines,
// coloured when `paint` is on (see color.h).
#include <string>
#include <string_view>

#include "ctl/color.h"

namespace hearth::ctl {
std::string format_status(std::string_view json, const Paint& paint = Paint(false));
std::string format_message(std::string_view json, const Paint& paint = Paint(false));
}  // namespace hearth::ctl
