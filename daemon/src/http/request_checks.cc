#include "http/request_checks.h"

#include <array>

namespace hearth::http {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    unsigned char x = static_cast<unsigned char>(a[i]);
    unsigned char y = static_cast<unsigned char>(b[i]);
    if (x >= 'A' && x <= 'Z') x = static_cast<unsigned char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<unsigned char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

namespace {

// Byte classes, one table lookup per byte on the request path.
enum : unsigned char { kTchar = 1, kFieldOk = 2 };

constexpr std::array<unsigned char, 256> make_classes() {
  std::array<unsigned char, 256> t{};
  for (int c = 0; c < 256; ++c) {
    unsigned char v = 0;
    // RFC 9110 5.5: field-value bytes are HTAB, SP, VCHAR and obs-text (no CTLs, no DEL).
    if (c == '\t' || (c >= 0x20 && c != 0x7f)) v |= kFieldOk;
    // RFC 9110 5.6.2 tchar.
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) v |= kTchar;
    for (char x : {'!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~'})
      if (c == x) v |= kTchar;
    t[static_cast<std::size_t>(c)] = v;
  }
  return t;
}
constexpr std::array<unsigned char, 256> kClasses = make_classes();

}  // namespace

bool is_valid_field_value(std::string_view value) {
  for (char ch : value) {
    if (!(kClasses[static_cast<unsigned char>(ch)] & kFieldOk)) return false;
  }
  return true;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char ch : s) {
    if (!(kClasses[static_cast<unsigned char>(ch)] & kTchar)) return false;
  }
  return true;
}

bool is_valid_target(std::string_view method, std::string_view target) {
  if (target.empty()) return false;
  if (target == "*") return method == "OPTIONS";
  if (target.front() == '/') return true;
  auto starts_ci = [&](std::string_view prefix) {
    return target.size() > prefix.size() && iequals(target.substr(0, prefix.size()), prefix);
  };
  // absolute-form: needs a non-empty authority.
  if (starts_ci("http://")) return target.size() > 7 && target[7] != '/';
  if (starts_ci("https://")) return target.size() > 8 && target[8] != '/';
  return false;
}

bool is_plain_chunked(std::string_view te_value) {
  return iequals(trim_ows(te_value), "chunked");
}

std::optional<uint64_t> parse_content_length(std::string_view value) {
  value = trim_ows(value);
  if (value.empty() || value.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

}  // namespace hearth::http
