#pragma once
// ALPN protocol selection (RFC 7301), pure: no OpenSSL types.
#include <optional>
#include <string_view>

namespace hearth::tls {

// `client` is the client's list in wire format (each name prefixed by its
// length byte). Returns the protocol to select, as a view into `client`:
// "h2" when offered and `h2` is true, else "http/1.1" when offered; nullopt
// when neither was offered or the list is malformed (the handshake then goes
// on without ALPN and the connection speaks HTTP/1.1).
std::optional<std::string_view> select_alpn(std::string_view client, bool h2);

}  // namespace hearth::tls
