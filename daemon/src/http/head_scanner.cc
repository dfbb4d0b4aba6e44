#include "http/head_scanner.h"

namespace hearth::http {

void HeadScanner::reset() {
  pos_ = 0;
  line_start_ = 0;
  lines_ = 0;
  head_size_ = 0;
}

HeadScanner::Result HeadScanner::feed(std::string_view data) {
  const std::size_t limit = data.size() < max_size_ ? data.size() : static_cast<std::size_t>(max_size_);
  while (pos_ < limit) {
    const char c = data[pos_];
    if (pos_ == line_start_ && lines_ > 0 && (c == ' ' || c == '\t')) return Result::Malformed;
    if (c == '\0') return Result::Malformed;
    if (c == '\n') {
      // Only CRLF ends a line.
      if (pos_ == 0 || data[pos_ - 1] != '\r' || pos_ - 1 < line_start_) return Result::Malformed;
      const bool empty_line = (pos_ - 1 == line_start_);
      ++pos_;
      if (empty_line) {
        if (lines_ == 0) return Result::Malformed;  // leading CRLFs are stripped by the caller
        head_size_ = pos_;
        return Result::Complete;
      }
      ++lines_;
      line_start_ = pos_;
      continue;
    }
    if (c == '\r' && pos_ + 1 < data.size() && data[pos_ + 1] != '\n') return Result::Malformed;
    ++pos_;
  }
  if (limit < data.size() || pos_ >= max_size_) return Result::TooLarge;
  return Result::NeedMore;
}

}  // namespace hearth::http
