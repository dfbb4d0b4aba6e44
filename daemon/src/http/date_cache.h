#pragma once
// IMF-fixdate ("Sun, 22 Nov 2026 10:00:00 GMT") for the Date header,
// formatted at most once per second. One per server (single executor).
#include <ctime>
#include <string_view>

namespace hearth::http {

class DateCache {
 public:
  std::string_view now();
  // Formats `t` (for tests).
  static std::string_view format(std::time_t t, char (&buf)[32]);

 private:
  std::time_t second_ = -1;
  char buf_[32] = {};
  std::size_t len_ = 0;
};

}  // namespace hearth::http
