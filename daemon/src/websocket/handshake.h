#pragma once
// The RFC 6455 opening handshake, judged from a parsed HTTP/1.1 request (pure).
#include <string>
#include <string_view>
#include <vector>

#include "http/request.h"

namespace hearth::websocket {

struct Handshake {
  enum class Verdict {
    NotWebSocket,  // no `Upgrade: websocket` (an ordinary request)
    Ok,            // a valid opening handshake: key and subprotocols below
    BadRequest,    // asks for a WebSocket but is malformed (not GET, not HTTP/1.1, no Connection: upgrade, bad key): 400
    BadVersion,    // Sec-WebSocket-Version is not 13: 400 with `Sec-WebSocket-Version: 13`
  };
  Verdict verdict = Verdict::NotWebSocket;
  std::string key;                        // Sec-WebSocket-Key as sent
  std::vector<std::string> subprotocols;  // Sec-WebSocket-Protocol tokens, in order
  std::string error;                      // why (BadRequest/BadVersion), for the 400's body
};

[[nodiscard]] Handshake check_handshake(const http::Request& req);
// Sec-WebSocket-Accept for `key`: base64(SHA-1(key + the RFC's GUID)).
std::string accept_key(std::string_view key);
// The 101 response head (ends with the blank line).
std::string switching_protocols_head(std::string_view key, std::string_view subprotocol,
                                     const std::vector<http::Header>& extra);

}  // namespace hearth::websocket
