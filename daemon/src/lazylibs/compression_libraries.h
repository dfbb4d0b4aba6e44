#pragma once
// Which libraries a [compression] section needs (pure), and loading them at
// start-up so that a missing one is a configuration error naming the key
// (lazylibs/libraries.h).
#include <string>

#include "config/config.h"

namespace hearth::lazylibs {

struct CompressionLibraries {
  bool zlib = false;    // "gzip" is in compression.algorithms
  bool brotli = false;  // "br" is
};

// Nothing when [compression] is disabled; else what compression.algorithms lists.
[[nodiscard]] CompressionLibraries compression_libraries(const config::CompressionConfig& cfg);

// Loads what compression_libraries() says. "" on success, else the error,
// naming the key: "compression.algorithms: \"gzip\": gzip compression needs
// libz.so.1: ...".
[[nodiscard]] std::string load_compression_libraries(const config::CompressionConfig& cfg);

}  // namespace hearth::lazylibs
