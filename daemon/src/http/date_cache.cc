#include "http/date_cache.h"

#include <cstdio>

namespace hearth::http {

std::string_view DateCache::format(std::time_t t, char (&buf)[32]) {
  struct tm tm;
  gmtime_r(&t, &tm);
  std::size_t n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string_view(buf, n);
}

std::string_view DateCache::now() {
  std::time_t t = std::time(nullptr);
  if (t != second_) {
    second_ = t;
    len_ = format(t, buf_).size();
  }
  return std::string_view(buf_, len_);
}

}  // namespace hearth::http
