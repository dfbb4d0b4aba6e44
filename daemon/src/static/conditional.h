#pragma once
// Validators and conditional requests for static files (RFC 9110 8.8, 13):
// the ETag and Last-Modified of a file, HTTP dates, and the order in which
// If-Match, If-Unmodified-Since, If-None-Match, If-Modified-Since and
// If-Range are evaluated for GET/HEAD. Pure: no clock, no file system.
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace hearth::statics {

// "\"<mtime in ns, hex>-<size, hex>\"": changes with any write that changes
// the mtime or the size. A strong validator (a variant has its own).
std::string make_etag(int64_t mtime_ns, uint64_t size);

// IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
std::string format_http_date(std::time_t t);
// IMF-fixdate, RFC 850 and asctime forms; nullopt for anything else.
std::optional<std::time_t> parse_http_date(std::string_view s);

// Does an If-Match / If-None-Match list ("*", or "a", W/"b", ...) match
// `etag`? weak: W/ prefixes are ignored on both sides (If-None-Match);
// strong: a weak tag in the list never matches (If-Match, If-Range).
bool etag_list_matches(std::string_view header, std::string_view etag, bool weak);

struct Conditionals {
  std::string_view if_match;             // "" = absent
  std::string_view if_unmodified_since;
  std::string_view if_none_match;
  std::string_view if_modified_since;
};

enum class Precondition {
  Proceed,             // serve the file (200, or 206 for a range)
  NotModified,         // 304
  PreconditionFailed,  // 412
};

// RFC 9110 13.2.2 for GET/HEAD. If-None-Match wins over If-Modified-Since;
// an unparsable date is ignored. `mtime` is the Last-Modified second.
Precondition evaluate(const Conditionals& c, std::string_view etag, std::time_t mtime);

// If-Range: the Range may be honoured only if the validator still matches
// (an ETag, compared strongly, or the exact Last-Modified date). An absent
// header allows the range.
bool if_range_allows(std::string_view if_range, std::string_view etag, std::time_t mtime);

}  // namespace hearth::statics
