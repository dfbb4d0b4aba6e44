#pragma once
// When hearthctl colours its output, and the colours it uses. Pure: the
// caller passes in whether stdout is a terminal and the environment.
#include <optional>
#include <string>
#include <string_view>

namespace hearth::ctl {

enum class ColorMode {
  Auto,    // colour when stdout is a terminal, $NO_COLOR is unset and $TERM is not "dumb"
  Always,  // --color=always: even into a pipe, even with $NO_COLOR (an explicit flag wins)
  Never,   // --color=never
};

// "auto", "always", "never" (also "yes"/"no"); nullopt for anything else.
std::optional<ColorMode> parse_color_mode(std::string_view s);

// `no_color` and `term` are the values of $NO_COLOR and $TERM (nullptr when unset).
bool use_color(ColorMode mode, bool stdout_is_tty, const char* no_color, const char* term);

// Wraps text in an SGR sequence when `on`; otherwise returns it unchanged.
class Paint {
 public:
  explicit Paint(bool on) : on_(on) {}
  bool on() const { return on_; }
  std::string bold(std::string_view s) const { return wrap("1", s); }
  std::string dim(std::string_view s) const { return wrap("2", s); }
  std::string red(std::string_view s) const { return wrap("31", s); }
  std::string green(std::string_view s) const { return wrap("32", s); }
  std::string yellow(std::string_view s) const { return wrap("33", s); }
  std::string cyan(std::string_view s) const { return wrap("36", s); }
  // A worker state coloured by what it means: ready green, starting yellow,
  // leaving dim, dead red.
  std::string state(std::string_view s) const;

 private:
  std::string wrap(const char* sgr, std::string_view s) const;
  bool on_;
};

}  // namespace hearth::ctl
