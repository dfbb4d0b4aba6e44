#include "ctl/color.h"

namespace hearth::ctl {

std::optional<ColorMode> parse_color_mode(std::string_view s) {
  if (s == "auto") return ColorMode::Auto;
  if (s == "always" || s == "yes" || s == "force") return ColorMode::Always;
  if (s == "never" || s == "no" || s == "none") return ColorMode::Never;
  return std::nullopt;
}

bool use_color(ColorMode mode, bool stdout_is_tty, const char* no_color, const char* term) {
  switch (mode) {
    case ColorMode::Always: return true;
    case ColorMode::Never: return false;
    case ColorMode::Auto: break;
  }
  if (!stdout_is_tty) return false;
  if (no_color && *no_color) return false;  // https://no-color.org: set and not empty
  if (term && std::string_view(term) == "dumb") return false;
  return true;
}

std::string Paint::wrap(const char* sgr, std::string_view s) const {
  if (!on_ || s.empty()) return std::string(s);
  return std::string("\x1b[") + sgr + "m" + std::string(s) + "\x1b[0m";
}

std::string Paint::state(std::string_view s) const {
  if (s == "ready") return green(s);
  if (s == "busy") return bold(s);
  if (s == "forking" || s == "booting" || s == "warming") return yellow(s);
  if (s == "draining" || s == "stopping") return dim(s);
  if (s == "dead" || s == "unhealthy") return red(s);
  return std::string(s);
}

}  // namespace hearth::ctl
