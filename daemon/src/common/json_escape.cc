#include "common/json_escape.h"

#include <cstddef>
#include <cstdint>

namespace hearth::json {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// Bytes copied as they are: printable ASCII other than '"' and '\\'.
inline bool plain_ascii(unsigned char u) { return u >= 0x20 && u < 0x7f && u != '"' && u != '\\'; }

inline bool continuation(unsigned char u) { return (u & 0xc0) == 0x80; }

// The length of the well-formed UTF-8 sequence (2..4 bytes) starting at v[i]
// (v[i] >= 0x80), or 0 if the bytes there are not one (RFC 3629 table 3-7:
// no overlong forms, no surrogates, nothing above U+10FFFF).
std::size_t utf8_sequence(std::string_view v, std::size_t i) {
  const auto at = [&](std::size_t k) { return static_cast<unsigned char>(v[i + k]); };
  const std::size_t left = v.size() - i;
  const unsigned char b0 = at(0);
  if (b0 >= 0xc2 && b0 <= 0xdf) return left >= 2 && continuation(at(1)) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    if (left < 3 || !continuation(at(1)) || !continuation(at(2))) return 0;
    if (b0 == 0xe0 && at(1) < 0xa0) return 0;   // overlong
    if (b0 == 0xed && at(1) > 0x9f) return 0;   // U+D800..U+DFFF
    return 3;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    if (left < 4 || !continuation(at(1)) || !continuation(at(2)) || !continuation(at(3))) return 0;
    if (b0 == 0xf0 && at(1) < 0x90) return 0;   // overlong
    if (b0 == 0xf4 && at(1) > 0x8f) return 0;   // above U+10FFFF
    return 4;
  }
  return 0;  // 0x80..0xc1 (continuation or overlong lead), 0xf5..0xff
}

void append_u00(std::string& out, unsigned char u) {
  const char esc[6] = {'\\', 'u', '0', '0', kHex[u >> 4], kHex[u & 15]};
  out.append(esc, 6);
}

}  // namespace

void append_escaped(std::string& out, std::string_view v) {
  // Runs of bytes that need no escape are appended at once.
  std::size_t run = 0, i = 0;
  while (i < v.size()) {
    const unsigned char u = static_cast<unsigned char>(v[i]);
    if (plain_ascii(u)) {
      ++i;
      continue;
    }
    if (u >= 0x80) {
      if (std::size_t n = utf8_sequence(v, i)) {
        i += n;
        continue;
      }
    }
    out.append(v.data() + run, i - run);
    switch (u) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default: append_u00(out, u);  // other controls, DEL, and bytes of invalid UTF-8
    }
    run = ++i;
  }
  out.append(v.data() + run, v.size() - run);
}

void append_quoted(std::string& out, std::string_view v) {
  out += '"';
  append_escaped(out, v);
  out += '"';
}

std::string escaped(std::string_view v) {
  std::string out;
  out.reserve(v.size() + 2);
  append_escaped(out, v);
  return out;
}

}  // namespace hearth::json
