#pragma once
// Scans the raw bytes of a request head as they arrive, before Beast parses
// it, for what Beast tolerates but RFC 9112 lets a server reject: bare LF
// line endings, obs-fold (a field line starting with SP/HTAB), and NUL
// bytes. Finds the end of the head (CRLF CRLF) so the parser sees it whole.
// Incremental: feed() resumes where the previous call stopped, so a head
// that trickles in byte by byte is scanned once.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hearth::http {

class HeadScanner {
 public:
  enum class Result {
    NeedMore,  // no end of head yet, nothing wrong so far
    Complete,  // head_size() bytes form the head (ending in CRLF CRLF)
    TooLarge,  // more than max_size bytes without an end (431)
    Malformed, // bare LF, obs-fold, NUL/CR misuse (400)
  };

  explicit HeadScanner(uint64_t max_size) : max_size_(max_size) {}
  void reset();
  // `data` is everything buffered for this request so far (a prefix of it was
  // seen by earlier calls and must be unchanged).
  Result feed(std::string_view data);
  std::size_t head_size() const { return head_size_; }

 private:
  uint64_t max_size_;
  std::size_t pos_ = 0;         // next byte to look at
  std::size_t line_start_ = 0;  // start of the current line
  std::size_t lines_ = 0;       // complete lines so far
  std::size_t head_size_ = 0;
};

}  // namespace hearth::http
