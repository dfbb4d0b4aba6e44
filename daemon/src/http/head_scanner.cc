#include "http/head_scanner.h"

#include <cstring>

namespace hearth::http {

void HeadScanner::reset() {
  pos_ = 0;
  line_start_ = 0;
  lines_ = 0;
  head_size_ = 0;
}

HeadScanner::Result HeadScanner::feed(std::string_view data) {
  // Line by line with memchr instead of byte by byte; the verdicts are those
  // of a byte-wise scan (tests/unit/http/head_scanner_test.cc compares both).
  const char* d = data.data();
  const std::size_t size = data.size();
  const std::size_t limit = size < max_size_ ? size : static_cast<std::size_t>(max_size_);
  std::size_t pos = pos_;
  std::size_t line_start = line_start_;
  std::size_t lines = lines_;
  Result result = Result::NeedMore;
  while (pos < limit) {
    if (pos == line_start && lines > 0 && (d[pos] == ' ' || d[pos] == '\t')) return Result::Malformed;
    const void* lf = std::memchr(d + pos, '\n', limit - pos);
    const std::size_t end = lf ? static_cast<std::size_t>(static_cast<const char*>(lf) - d) : limit;
    // [pos, end): no NUL, and a CR only right before an LF.
    if (std::memchr(d + pos, '\0', end - pos) != nullptr) return Result::Malformed;
    if (const void* cr = std::memchr(d + pos, '\r', end - pos)) {
      const std::size_t at = static_cast<std::size_t>(static_cast<const char*>(cr) - d);
      if (at + 1 < end) return Result::Malformed;
      if (at + 1 < size && d[at + 1] != '\n') return Result::Malformed;
    }
    if (!lf) {
      pos = limit;
      break;
    }
    // Only CRLF ends a line.
    if (end == 0 || d[end - 1] != '\r' || end - 1 < line_start) return Result::Malformed;
    const bool empty_line = (end - 1 == line_start);
    pos = end + 1;
    if (empty_line) {
      if (lines == 0) return Result::Malformed;  // leading CRLFs are stripped by the caller
      head_size_ = pos;
      result = Result::Complete;
      break;
    }
    ++lines;
    line_start = pos;
  }
  pos_ = pos;
  line_start_ = line_start;
  lines_ = lines;
  if (result == Result::Complete) return result;
  if (limit < size || pos >= max_size_) return Result::TooLarge;
  return Result::NeedMore;
}

}  // namespace hearth::http
