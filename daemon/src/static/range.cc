#include "static/range.h"

#include <optional>

#include "http/request_checks.h"

namespace hearth::statics {
namespace {

std::optional<uint64_t> number(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;  // up to 10^19 - 1 fits in uint64_t
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

}  // namespace

ByteRange parse_range(std::string_view header, uint64_t size) {
  ByteRange full;
  header = http::trim_ows(header);
  size_t eq = header.find('=');
  if (eq == std::string_view::npos || !http::iequals(http::trim_ows(header.substr(0, eq)), "bytes")) return full;
  std::string_view spec = http::trim_ows(header.substr(eq + 1));
  if (spec.find(',') != std::string_view::npos) return full;  // multiple ranges: the whole file
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return full;
  std::string_view a = http::trim_ows(spec.substr(0, dash)), b = http::trim_ows(spec.substr(dash + 1));
  ByteRange r;
  r.kind = ByteRange::Kind::Partial;
  if (a.empty()) {
    // Suffix: the last n bytes.
    auto n = number(b);
    if (!n) return full;
    if (*n == 0 || size == 0) return ByteRange{ByteRange::Kind::Unsatisfiable};
    r.first = *n >= size ? 0 : size - *n;
    r.last = size - 1;
    return r;
  }
  auto first = number(a);
  if (!first) return full;
  uint64_t last = UINT64_MAX;
  if (!b.empty()) {
    auto l = number(b);
    if (!l || *l < *first) return full;  // "5-3" is invalid, so ignored
    last = *l;
  }
  if (*first >= size) return ByteRange{ByteRange::Kind::Unsatisfiable};
  r.first = *first;
  r.last = last >= size ? size - 1 : last;
  return r;
}

}  // namespace hearth::statics
