#include "http/handler.h"

#include "http/error_pages.h"

#include <algorithm>

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <string>

namespace hearth::http {

void ResponseSink::simple(int status, std::string_view content_type, std::string_view text,
                          std::vector<Header> extra) {
  if (status >= 400) {
    if (const ErrorPages* pages = error_pages()) {
      if (const ErrorPages::Page* page = pages->find(status)) {
        content_type = page->content_type;
        text = page->body;
      }
    }
  }
  extra.reserve(extra.size() + 2);
  char len[24];
  auto r = std::to_chars(len, len + sizeof len, text.size());
  extra.push_back(Header{"Content-Type", std::string(content_type)});
  extra.push_back(Header{"Content-Length", std::string(len, r.ptr)});
  start(status, {}, std::move(extra));
  body(text);
  finish(true);
}

bool ResponseSink::body_file(int fd, uint64_t offset, uint64_t length) {
  std::string buf(std::min<uint64_t>(length, 64 * 1024), '\0');
  while (length > 0 && !client_gone()) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(length, buf.size()));
    ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;  // an error, or the file shrank under us
    body(std::string_view(buf.data(), static_cast<size_t>(n)));
    offset += static_cast<uint64_t>(n);
    length -= static_cast<uint64_t>(n);
  }
  return true;
}

}  // namespace hearth::http
