#include "http/handler.h"

#include <charconv>

namespace hearth::http {

void ResponseSink::simple(int status, std::string_view content_type, std::string_view text,
                          std::vector<Header> extra) {
  extra.reserve(extra.size() + 2);
  char len[24];
  auto r = std::to_chars(len, len + sizeof len, text.size());
  extra.push_back(Header{"Content-Type", std::string(content_type)});
  extra.push_back(Header{"Content-Length", std::string(len, r.ptr)});
  start(status, {}, std::move(extra));
  body(text);
  finish(true);
}

}  // namespace hearth::http
