#include "config/units.h"

#include "config/bind.h"
#include "common/ascii.h"

#include <cctype>
#include <cmath>
#include <limits>

namespace hearth::config {
namespace {

// Durations are capped well below Millis' int64 range so that the daemon can
// add them to time points without overflow: 2^53 ms, about 285,000 years.
constexpr uint64_t kMaxMillis = uint64_t{1} << 53;

bool mul_overflows(uint64_t a, uint64_t b, uint64_t* out) {
  return __builtin_mul_overflow(a, b, out);
}
bool add_overflows(uint64_t a, uint64_t b, uint64_t* out) {
  return __builtin_add_overflow(a, b, out);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "12.345" at the front of `s`: the integer part, and the fraction as digits.
struct Decimal {
  uint64_t whole = 0;
  std::string_view fraction;  // digits after the point, possibly empty
};

std::optional<Decimal> take_decimal(std::string_view& s) {
  Decimal d;
  size_t i = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
    if (mul_overflows(d.whole, 10, &d.whole) || add_overflows(d.whole, uint64_t(s[i] - '0'), &d.whole)) {
      return std::nullopt;
    }
    ++i;
  }
  bool has_whole = i > 0;
  if (i < s.size() && s[i] == '.') {
    size_t start = ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    d.fraction = s.substr(start, i - start);
    if (d.fraction.empty()) return std::nullopt;  // "1." is not a number
  } else if (!has_whole) {
    return std::nullopt;
  }
  s.remove_prefix(i);
  return d;
}

// whole.fraction x unit, truncated to an integer; nullopt on overflow.
std::optional<uint64_t> scale(const Decimal& d, uint64_t unit) {
  uint64_t total = 0;
  if (mul_overflows(d.whole, unit, &total)) return std::nullopt;
  // Fraction digits beyond 19 cannot matter for units below 2^63.
  uint64_t num = 0, den = 1;
  for (size_t i = 0; i < d.fraction.size() && i < 18; ++i) {
    num = num * 10 + uint64_t(d.fraction[i] - '0');
    den *= 10;
  }
  // num/den < 1, so num * unit / den < unit; compute without overflow.
  unsigned __int128 part = static_cast<unsigned __int128>(num) * unit / den;
  if (add_overflows(total, static_cast<uint64_t>(part), &total)) return std::nullopt;
  return total;
}

}  // namespace

std::optional<uint64_t> parse_uint(std::string_view text, uint64_t max) {
  if (text.empty()) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    if (mul_overflows(v, 10, &v) || add_overflows(v, uint64_t(c - '0'), &v)) return std::nullopt;
  }
  if (v > max) return std::nullopt;
  return v;
}

std::optional<double> parse_rate(std::string_view text) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::string_view count = text.substr(0, slash);
  std::string_view unit = text.substr(slash + 1);
  if (!count.empty() && (count.back() == 'r' || count.back() == 'R')) count.remove_suffix(1);  // nginx "10r/s"
  if (count.empty() || count.size() > 20) return std::nullopt;
  double n = 0;
  bool dot = false, digit = false;
  double scale = 1;
  for (char c : count) {
    if (c == '.' && !dot) {
      dot = true;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      digit = true;
      if (dot) {
        scale /= 10;
        n += (c - '0') * scale;
      } else {
        n = n * 10 + (c - '0');
      }
    } else {
      return std::nullopt;
    }
  }
  if (!digit || !(n > 0) || !std::isfinite(n)) return std::nullopt;
  double per;
  if (unit == "s" || unit == "S") {
    per = 1;
  } else if (unit == "m" || unit == "M") {
    per = 60;
  } else if (unit == "h" || unit == "H") {
    per = 3600;
  } else {
    return std::nullopt;
  }
  return n / per;
}

std::optional<Millis> duration_from_seconds(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return std::nullopt;
  double ms = std::round(seconds * 1000.0);
  if (ms > static_cast<double>(kMaxMillis)) return std::nullopt;
  return Millis(static_cast<int64_t>(ms));
}

std::optional<Millis> parse_duration(std::string_view text) {
  std::string_view s = ascii::trim_space(text);
  if (s.empty()) return std::nullopt;
  uint64_t total = 0;
  bool first = true;
  while (!s.empty()) {
    auto num = take_decimal(s);
    if (!num) return std::nullopt;
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    size_t n = 0;
    while (n < s.size() && std::isalpha(static_cast<unsigned char>(s[n]))) ++n;
    std::string unit = lower(s.substr(0, n));
    s.remove_prefix(n);
    uint64_t unit_ms = 0;
    if (unit.empty()) {
      // A bare number is seconds, and only allowed on its own.
      if (!first || !s.empty()) return std::nullopt;
      unit_ms = 1000;
    } else if (unit == "ms") {
      unit_ms = 1;
    } else if (unit == "s") {
      unit_ms = 1000;
    } else if (unit == "m") {
      unit_ms = 60'000;
    } else if (unit == "h") {
      unit_ms = 3'600'000;
    } else {
      return std::nullopt;
    }
    auto part = scale(*num, unit_ms);
    if (!part || add_overflows(total, *part, &total) || total > kMaxMillis) return std::nullopt;
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    first = false;
  }
  return Millis(static_cast<int64_t>(total));
}

std::optional<uint64_t> parse_size(std::string_view text) {
  std::string_view s = ascii::trim_space(text);
  auto num = take_decimal(s);
  if (!num) return std::nullopt;
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  std::string unit = lower(s);
  uint64_t mult = 0;
  if (unit.empty() || unit == "b") {
    if (!num->fraction.empty()) return std::nullopt;  // "1.5" bytes makes no sense
    mult = 1;
  } else {
    // k|kb|kib, m|mb|mib, g|gb|gib, t|tb|tib
    static constexpr std::string_view kPrefixes = "kmgt";
    size_t power = kPrefixes.find(unit[0]);
    if (power == std::string_view::npos) return std::nullopt;
    std::string_view rest = std::string_view(unit).substr(1);
    uint64_t base;
    if (rest.empty() || rest == "ib") {
      base = 1024;
    } else if (rest == "b") {
      base = 1000;
    } else {
      return std::nullopt;
    }
    mult = 1;
    for (size_t i = 0; i <= power; ++i) mult *= base;
  }
  return scale(*num, mult);
}

std::string format_duration(Millis d) {
  int64_t ms = d.count();
  if (ms <= 0) return "0s";
  std::string out;
  if (ms % 1000 != 0) {
    // Not a whole number of seconds: milliseconds are exact and unambiguous.
    return std::to_string(ms) + "ms";
  }
  int64_t secs = ms / 1000;
  int64_t h = secs / 3600, m = (secs / 60) % 60, s = secs % 60;
  if (h) out += std::to_string(h) + "h";
  if (m) out += std::to_string(m) + "m";
  if (s) out += std::to_string(s) + "s";
  return out;
}

std::string format_size(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes == 0) return "0";
  int unit = -1;
  uint64_t v = bytes;
  while (unit < 3 && v % 1024 == 0) {
    v /= 1024;
    ++unit;
  }
  if (unit < 0) return std::to_string(bytes);
  return std::to_string(v) + kUnits[unit];
}

}  // namespace hearth::config

namespace hearth::config {

std::optional<std::string> parse_log_level(std::string_view text) {
  std::string l = lower(text);
  if (l == "error" || l == "warn" || l == "info" || l == "debug") return l;
  if (l == "warning") return "warn";
  if (l == "critical") return "error";
  return std::nullopt;
}

std::optional<std::string> parse_interface(std::string_view text) {
  std::string l = lower(text);
  if (l == "wsgi" || l == "asgi" || l == "auto") return l;
  return std::nullopt;
}

std::optional<std::string> parse_lifespan(std::string_view text) {
  std::string l = lower(text);
  if (l == "auto" || l == "on" || l == "off") return l;
  return std::nullopt;
}

std::optional<std::string> parse_access_log_format(std::string_view text) {
  std::string l = lower(text);
  if (l == "combined" || l == "json") return l;
  return std::nullopt;
}

std::optional<std::string> parse_tls_version(std::string_view text) {
  std::string l = lower(text);
  if (l.rfind("tlsv", 0) == 0) l = l.substr(4);
  if (l == "1.2" || l == "1.3") return l;
  return std::nullopt;
}

std::optional<uint32_t> parse_umask(std::string_view text) {
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'o' || text[1] == 'O')) text.remove_prefix(2);
  if (text.empty() || text.size() > 4) return std::nullopt;
  uint32_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '7') return std::nullopt;
    v = v * 8 + static_cast<uint32_t>(c - '0');
  }
  if (v > 0777) return std::nullopt;
  return v;
}

}  // namespace hearth::config

namespace hearth::config {

std::optional<std::string> parse_list_item(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (s.empty()) return std::nullopt;
  return std::string(s);
}

std::optional<std::string> parse_allow_ip_item(std::string_view s) {
  auto t = parse_list_item(s);
  if (!t || !is_allow_ip_entry(*t)) return std::nullopt;
  return t;
}

std::optional<std::string> parse_http_method(std::string_view s) {
  auto t = parse_list_item(s);
  if (!t || t->size() > 32) return std::nullopt;
  for (char& ch : *t) {
    if (!std::isalpha(static_cast<unsigned char>(ch))) return std::nullopt;
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  }
  return t;
}

std::optional<std::string> parse_compression_algorithm(std::string_view s) {
  auto t = parse_list_item(s);
  if (!t) return std::nullopt;
  for (char& ch : *t) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (*t == "br" || *t == "gzip") return t;
  return std::nullopt;
}

std::optional<std::string> parse_media_type(std::string_view s) {
  auto t = parse_list_item(s);
  if (!t) return std::nullopt;
  for (char& ch : *t) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  auto slash = t->find('/');
  if (slash == 0 || slash == std::string::npos || slash + 1 == t->size() ||
      t->find('/', slash + 1) != std::string::npos)
    return std::nullopt;
  for (char ch : *t) {
    if (!(std::isalnum(static_cast<unsigned char>(ch)) ||
          std::string_view("/*+-.!#$&^_").find(ch) != std::string_view::npos))
      return std::nullopt;
  }
  return t;
}

}  // namespace hearth::config
