#pragma once
// The response header fields that describe one connection, not the response
// (RFC 9110 7.6.1, RFC 9113 8.2.2), and so never pass from an app to a client:
//   Connection, Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade, and every
//   Proxy-* field (Proxy-Connection, Proxy-Authenticate, ...).
// The one list for both front doors: BufferedResponseSink (HTTP/1, which
// frames the body itself) and H2Connection (HTTP/2 forbids them) drop exactly
// these. Decided by the name's length first; ASCII case-insensitive.
#include <string_view>

#include "common/ascii.h"

namespace hearth::http {

inline bool is_hop_by_hop(std::string_view name) {
  using ascii::iequals;
  if (name.size() >= 6 && (name[0] | 0x20) == 'p' && iequals(name.substr(0, 6), "proxy-")) return true;
  switch (name.size()) {
    case 2: return iequals(name, "te");
    case 7: return iequals(name, "upgrade") || iequals(name, "trailer");
    case 10: return iequals(name, "connection") || iequals(name, "keep-alive");
    case 17: return iequals(name, "transfer-encoding");
    default: return false;
  }
}

}  // namespace hearth::http
