#include "lazylibs/compression_libraries.h"

#include <algorithm>

#include "lazylibs/libraries.h"

namespace hearth::lazylibs {

CompressionLibraries compression_libraries(const config::CompressionConfig& cfg) {
  CompressionLibraries out;
  if (!cfg.enabled) return out;
  auto has = [&](const char* name) {
    return std::find(cfg.algorithms.begin(), cfg.algorithms.end(), name) != cfg.algorithms.end();
  };
  out.zlib = has("gzip");
  out.brotli = has("br");
  return out;
}

std::string load_compression_libraries(const config::CompressionConfig& cfg) {
  const CompressionLibraries need = compression_libraries(cfg);
  std::string error;
  if (need.brotli && !brotli().load(error)) return "compression.algorithms: \"br\": " + error;
  if (need.zlib && !zlib().load(error)) return "compression.algorithms: \"gzip\": " + error;
  return "";
}

}  // namespace hearth::lazylibs
