#pragma once
// A streaming encoder for one response body: gzip (zlib) or brotli
// (libbrotlienc). Input goes in as it comes; each write() flushes, so the
// bytes of a streamed chunk reach the client with it (a sync flush: the
// stream stays open); finish() ends the stream. Output is appended to `out`.
//
// Errors (out of memory inside the library) make write()/finish() return
// false; the caller then ends the response as broken.
#include <memory>
#include <string>
#include <string_view>

#include "frontdoor/compression_policy.h"

namespace hearth::frontdoor {

class Compressor {
 public:
  virtual ~Compressor() = default;
  // `coding` Brotli or Gzip; `level` 1..11 (gzip uses at most 9). Null if the
  // library could not set up a stream.
  static std::unique_ptr<Compressor> make(Coding coding, int level);

  [[nodiscard]] virtual bool write(std::string_view in, std::string& out) = 0;
  [[nodiscard]] virtual bool finish(std::string& out) = 0;
};

}  // namespace hearth::frontdoor
