#pragma once
// For tests of the lazily loaded libraries (tls/openssl_stubs, lazylibs/*_stubs):
// whether a file whose path contains `name` is mapped into this process now.
#include <fstream>
#include <string>

namespace hearth::testing {

inline bool mapped(const std::string& name) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.find(name) != std::string::npos) return true;
  }
  return false;
}

}  // namespace hearth::testing
