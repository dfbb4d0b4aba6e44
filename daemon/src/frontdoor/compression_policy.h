#pragma once
// Whether and how one app response is compressed ([compression]); pure
// functions of the request's Accept-Encoding and the response's status and
// headers, and the header edits a compressed response needs.
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "http/request.h"

namespace hearth::frontdoor {

enum class Coding {
  Identity,  // sent as it is
  Brotli,    // Content-Encoding: br
  Gzip,      // Content-Encoding: gzip
};

// The coding for a request: among the configured algorithms, the one the
// client accepts with the higher q-value (RFC 9110 12.5.3; brotli on a tie);
// Identity when it accepts neither.
Coding negotiate(const config::CompressionConfig& cfg, std::string_view accept_encoding);

struct CompressPlan {
  enum class Kind {
    AsIs,      // not a compressible response: untouched
    VaryOnly,  // compressible, but not compressed for this client: add Vary: Accept-Encoding
    Compress,  // compress with `coding`; see apply()
  };
  Kind kind = Kind::AsIs;
  Coding coding = Coding::Identity;
};

// `coding`: negotiate()'s answer for the request. A response is compressible
// when its Content-Type is one of `types`, it has no Content-Encoding or
// Content-Range, its status is not 1xx/204/206/304, it has no Cache-Control:
// no-transform, and its Content-Length (if any) is at least min_size.
CompressPlan plan(const config::CompressionConfig& cfg, Coding coding, int status,
                  const std::vector<http::Header>& headers);

// True when a media type ("text/html; charset=utf-8") matches one of `types`
// ("text/*", "application/json"), case-insensitively.
bool type_matches(std::string_view content_type, const std::vector<std::string>& types);

// The headers of a compressed response: Content-Length removed (the framing
// is chunked, or DATA frames), Content-Encoding added, Accept-Encoding added
// to Vary (or Vary set), a strong ETag made weak (W/"...": the bytes differ,
// the meaning does not). With `vary_only` only Vary is touched.
void apply(std::vector<http::Header>& headers, Coding coding, bool vary_only);

std::string_view coding_name(Coding c);  // "br", "gzip", "identity"

}  // namespace hearth::frontdoor
