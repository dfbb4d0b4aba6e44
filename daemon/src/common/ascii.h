#pragma once
// ASCII helpers shared by every module (header names, tokens, schemes): one
// home instead of a copy per file. Pure functions, no locale.
#include <cstddef>
#include <string_view>

namespace hearth::ascii {

namespace detail {
// The bytes of two equally long strings, ASCII case-insensitively (8 at a time).
bool iequals_bytes(const char* a, const char* b, std::size_t n);
}  // namespace detail

// ASCII case-insensitive comparison ("Content-Length" == "content-length");
// bytes outside A-Z/a-z must be equal. Different lengths are decided inline,
// the bytes out of line, eight at a time.
inline bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && (a.empty() || detail::iequals_bytes(a.data(), b.data(), a.size()));
}

// The same answer as iequals(), compiled into the caller: for a hot loop that
// compares one name against a dozen short literals (proxy/environ.cc builds
// the WSGI environ this way for every request), where a call per comparison
// costs more than the comparison. Measured there with callgrind (bench/
// profile.py --instructions-only, 2026-12-07): build_environ with the
// out-of-line iequals() costs ~190 more instructions per proxied request
// (17,765 -> 17,955). Use iequals() everywhere else.
[[gnu::always_inline]] inline bool iequals_inline(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const unsigned char x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
    if (x == y) continue;
    const unsigned char lx = static_cast<unsigned char>(x | 0x20);
    if (lx != (y | 0x20) || lx < 'a' || lx > 'z') return false;
  }
  return true;
}

// HTTP's optional white space (spaces and tabs) trimmed from both ends of a
// header value or list element.
inline std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Any ASCII white space (" \t\n\v\f\r", std::isspace's in the C locale)
// trimmed from both ends: configuration values, lines read from a file.
inline bool is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
inline std::string_view trim_space(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace hearth::ascii
