#pragma once
// The Range header for static files (RFC 9110 14): one byte range. Several
// ranges (multipart/byteranges) are not supported: such a request gets the
// whole file with 200, which RFC 9110 allows (a server may ignore Range).
#include <cstdint>
#include <string_view>

namespace hearth::statics {

struct ByteRange {
  enum class Kind {
    Full,           // no (usable) Range: 200 with the whole body
    Partial,        // 206 with bytes first..last
    Unsatisfiable,  // 416 with Content-Range: bytes */size
  };
  Kind kind = Kind::Full;
  uint64_t first = 0;  // inclusive
  uint64_t last = 0;   // inclusive
  uint64_t length() const { return last - first + 1; }
};

// `header` is the Range value ("" = absent); `size` the representation's.
// "bytes=a-b", "bytes=a-", "bytes=-n". A syntax error, another unit or a
// list of ranges is ignored (Full).
ByteRange parse_range(std::string_view header, uint64_t size);

}  // namespace hearth::statics
