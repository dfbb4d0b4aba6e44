#include "http/request_checks.h"

#include <array>
#include <cstdint>
#include <cstring>

namespace hearth::http {

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

namespace {

// Byte classes, one table lookup per byte on the request path.
enum : unsigned char { kTchar = 1, kFieldOk = 2, kHostChar = 4 };

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
    // RFC 3986 3.2.2 reg-name bytes besides '%': unreserved and sub-delims.
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) v |= kHostChar;
    for (char x : {'-', '.', '_', '~', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '='})
      if (c == x) v |= kHostChar;
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
  // No branch per byte: names are short and nearly always tokens.
  unsigned char all = kTchar;
  for (char ch : s) all &= kClasses[static_cast<unsigned char>(ch)];
  return all != 0;
}

namespace {

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// The scheme prefix length of an absolute-form target ("http://" or "https://",
// any case), or 0.
std::size_t absolute_prefix(std::string_view target) {
  auto starts_ci = [&](std::string_view prefix) {
    return target.size() >= prefix.size() && iequals(target.substr(0, prefix.size()), prefix);
  };
  if (starts_ci("http://")) return 7;
  if (starts_ci("https://")) return 8;
  return 0;
}

}  // namespace

bool is_valid_host(std::string_view v) {
  if (v.size() > 255 + 6) return false;
  std::string_view host = v;
  std::string_view port;
  bool has_port = false;
  if (!v.empty() && v.front() == '[') {
    auto close = v.find(']');
    if (close == std::string_view::npos || close < 3) return false;
    for (char c : v.substr(1, close - 1)) {
      if (!(is_hex(c) || c == ':' || c == '.')) return false;
    }
    std::string_view rest = v.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      has_port = true;
      port = rest.substr(1);
    }
    host = {};
  } else if (auto colon = v.find(':'); colon != std::string_view::npos) {
    host = v.substr(0, colon);
    port = v.substr(colon + 1);
    has_port = true;
    if (host.empty()) return false;  // ":80"
  }
  if (has_port) {
    if (port.size() > 5) return false;
    for (char c : port) {
      if (c < '0' || c > '9') return false;  // also a second ':' (unbracketed IPv6)
    }
  }
  for (std::size_t i = 0; i < host.size(); ++i) {
    const char c = host[i];
    if (kClasses[static_cast<unsigned char>(c)] & kHostChar) continue;  // unreserved and sub-delims
    if (c == '%' && i + 2 < host.size() && is_hex(host[i + 1]) && is_hex(host[i + 2])) {
      i += 2;
      continue;
    }
    return false;  // '@' (userinfo), '/', '?', '#', '\\', space, CTL, non-ASCII, a bad escape
  }
  return true;
}

std::string_view absolute_form_authority(std::string_view target) {
  std::size_t start = absolute_prefix(target);
  if (start == 0) return {};
  std::size_t end = target.find_first_of("/?#", start);
  return target.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
}

bool is_valid_target(std::string_view method, std::string_view target) {
  if (target.empty()) return false;
  if (target == "*") return method == "OPTIONS";
  if (target.front() == '/') return true;
  // absolute-form: needs a non-empty authority that is a valid host[:port]
  // (no userinfo: "http://a/b@c" is a path, "http://u@h/" is refused).
  if (absolute_prefix(target) == 0) return false;
  std::string_view authority = absolute_form_authority(target);
  return !authority.empty() && is_valid_host(authority);
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
