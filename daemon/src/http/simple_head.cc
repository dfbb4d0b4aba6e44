#include "http/simple_head.h"

#include <array>
#include <cstdint>
#include <cstring>

#include "common/ascii.h"
#include "http/request_checks.h"

namespace hearth::http {

namespace {

// Byte classes of Beast's request-line and field parsers (basic_parser.ipp).
enum : unsigned char {
  kTchar = 1,     // RFC 9110 tchar: method and field-name bytes (Beast's is_token_char)
  kPathchar = 2,  // request-target bytes: 0x21-0x7E and 0x80-0xFF (Beast's is_pathchar)
  kValue = 4,     // field-value bytes: HTAB, SP-0x7E, 0x80-0xFF (Beast's parse_token_to_eol)
};

constexpr std::array<unsigned char, 256> make_classes() {
  std::array<unsigned char, 256> t{};
  for (int c = 0; c < 256; ++c) {
    unsigned char v = 0;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) v |= kTchar;
    for (char x : {'!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~'})
      if (c == x) v |= kTchar;
    if (c > 0x20 && c != 0x7f) v |= kPathchar;
    if (c == '\t' || (c >= 0x20 && c != 0x7f)) v |= kValue;
    t[static_cast<std::size_t>(c)] = v;
  }
  return t;
}
constexpr std::array<unsigned char, 256> kClasses = make_classes();

[[gnu::always_inline]] inline bool is(char c, unsigned char cls) {
  return (kClasses[static_cast<unsigned char>(c)] & cls) != 0;
}

[[gnu::always_inline]] inline bool is_ows(char c) { return c == ' ' || c == '\t'; }

}  // namespace

SimpleHead parse_simple_head(std::string_view head, const config::HttpLimits& limits, Request& req,
                             SimpleHeadFacts& facts) {
  const char* p = head.data();
  const char* const end = p + head.size();
  // Beast counts the head against header_limit (a uint32_t): a head HeadScanner
  // let through fits, but say so rather than assume it.
  if (head.size() > limits.max_header_size || head.size() > UINT32_MAX) return SimpleHead::Unusual;
  // The head ends in CRLF CRLF, and CR is in none of the byte classes: every
  // scan below stops at a CR at the latest, so it needs no bounds check.
  if (head.size() < 4 || std::memcmp(end - 4, "\r\n\r\n", 4) != 0) return SimpleHead::Unusual;

  // --- request-line = method SP request-target SP HTTP-version CRLF
  const char* const method = p;
  while (is(*p, kTchar)) ++p;
  if (p == method || *p != ' ') return SimpleHead::Unusual;
  const std::string_view method_str(method, static_cast<std::size_t>(p - method));
  const char* const target = ++p;
  while (is(*p, kPathchar)) ++p;
  if (p == target || *p != ' ') return SimpleHead::Unusual;
  const std::string_view target_str(target, static_cast<std::size_t>(p - target));
  ++p;
  if (end - p < 10 || std::memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') || p[8] != '\r' ||
      p[9] != '\n')
    return SimpleHead::Unusual;
  const int version = p[7] == '1' ? 11 : 10;
  p += 10;
  // RequestParser::on_request_impl's policy.
  if (!is_valid_target(method_str, target_str)) return SimpleHead::Unusual;
  if (limits.max_request_line > 0 && method_str.size() + target_str.size() + 10 > limits.max_request_line)
    return SimpleHead::Unusual;

  // --- fields, each "name:" OWS value OWS CRLF, until the empty line.
  req.headers.reserve(16);
  uint32_t fields = 0;
  uint32_t hosts = 0;
  bool close = false, keep_alive = false, expect_continue = false;
  auto unusual = [&req] {
    req.headers.clear();
    return SimpleHead::Unusual;
  };
  for (;;) {
    if (end - p < 2) return unusual();
    if (p[0] == '\r') {
      if (p[1] != '\n') return unusual();
      p += 2;
      break;
    }
    const char* const name = p;
    while (is(*p, kTchar)) ++p;
    if (p == name || *p != ':') return unusual();
    const std::string_view name_str(name, static_cast<std::size_t>(p - name));
    ++p;
    while (is_ows(*p)) ++p;
    const char* const vb = p;
    while (is(*p, kValue)) ++p;  // stops at the line's CR, or at a byte Beast refuses
    if (p[0] != '\r' || p + 1 >= end || p[1] != '\n') return unusual();
    const char* ve = p;
    while (ve > vb && is_ows(ve[-1])) --ve;
    const std::string_view value(vb, static_cast<std::size_t>(ve - vb));
    p += 2;
    // An obs-fold continuation line (HeadScanner refuses them; Beast would join it).
    if (p < end && is_ows(*p)) return unusual();

    if (++fields > limits.max_headers) return unusual();
    if (limits.max_header_field_size > 0 && name_str.size() + 2 + value.size() > limits.max_header_field_size)
      return unusual();
    // The fields Beast or RequestParser act on, told apart by length first.
    switch (name_str.size()) {
      case 4:  // Host
        if (ascii::iequals_inline(name_str, "host")) {
          if (!is_valid_host(value)) return unusual();
          ++hosts;
        }
        break;
      case 6:  // Expect
        if (ascii::iequals_inline(name_str, "expect") && iequals(value, "100-continue"))
          expect_continue = true;
        break;
      case 7:  // Upgrade: Beast's flag; left to it
        if (ascii::iequals_inline(name_str, "upgrade")) return unusual();
        break;
      case 10:  // Connection
      case 16:  // Proxy-Connection (Beast reads both)
        if (ascii::iequals_inline(name_str, "connection") ||
            ascii::iequals_inline(name_str, "proxy-connection")) {
          if (iequals(value, "close")) {
            close = true;
          } else if (iequals(value, "keep-alive")) {
            keep_alive = true;
          } else {
            return unusual();  // a list, "upgrade", anything else: Beast's list rules
          }
        }
        break;
      case 14:  // Content-Length: a body, or framing to judge
        if (ascii::iequals_inline(name_str, "content-length")) return unusual();
        break;
      case 17:  // Transfer-Encoding
        if (ascii::iequals_inline(name_str, "transfer-encoding")) return unusual();
        break;
      default:
        break;
    }
    Header& h = req.headers.emplace_back();
    h.name.assign(name_str.data(), name_str.size());
    h.value.assign(value.data(), value.size());
  }
  if (p != end) return unusual();
  // RequestParser::on_header_impl: exactly one Host in HTTP/1.1, at most one in 1.0.
  if (hosts > 1 || (version >= 11 && hosts == 0)) return unusual();

  req.method.assign(method_str.data(), method_str.size());
  req.target.assign(target_str.data(), target_str.size());
  req.version = version;
  req.is_head = (method_str == "HEAD");
  // basic_parser::keep_alive(): HTTP/1.1 unless "close", HTTP/1.0 only with "keep-alive".
  facts.keep_alive = version >= 11 ? !close : keep_alive;
  facts.expect_continue = expect_continue;
  return SimpleHead::Parsed;
}

}  // namespace hearth::http
