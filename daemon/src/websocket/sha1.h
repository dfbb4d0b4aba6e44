#pragma once
// SHA-1 (FIPS 180-4) and base64 (RFC 4648, with padding): the two primitives
// of the WebSocket handshake's Sec-WebSocket-Accept (RFC 6455 section 4.2.2).
// Local so that a WebSocket upgrade never loads libcrypto (docs/profile.md
// section 3: hearthd maps OpenSSL only when TLS is configured). SHA-1 is used
// here as the RFC's fixed hash of a public nonce, not for security.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace hearth::websocket {

using Sha1Digest = std::array<std::uint8_t, 20>;

// The SHA-1 digest of `data`.
[[nodiscard]] Sha1Digest sha1(std::string_view data);

// `data` in base64 with '=' padding (the standard alphabet, no line breaks).
[[nodiscard]] std::string base64_encode(const std::uint8_t* data, std::size_t size);

}  // namespace hearth::websocket
