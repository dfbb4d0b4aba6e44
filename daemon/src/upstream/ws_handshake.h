#pragma once
// What passes between a client's WebSocket handshake and an upstream's
// (ws_tunnel.h). Pure.
//  - To the upstream: the fields build_request_head() would send (Host, the
//    client's end-to-end fields such as Origin, Cookie, Authorization and its
//    Sec-WebSocket-Protocol offer, X-Forwarded-*, X-Request-ID), minus the
//    fields of the client's own handshake with hearthd (Sec-WebSocket-Key,
//    -Version, -Accept, and -Extensions: hearthd frames the client's side and
//    negotiates no extension), which the upstream handshake sets itself.
//  - Back to the client on the upstream's 101: its fields but the ones that
//    describe that connection (hop-by-hop, Sec-WebSocket-*, Content-Length,
//    Date, Server): Set-Cookie and the like.
//  - Close codes across: a client's code the upstream may be sent as is;
//    1005 (no code) is an empty close frame; 1006 (the client just left),
//    1015 and anything else unsendable is 1001 (going away).
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/request.h"
#include "upstream/request_head.h"

namespace hearth::upstream {

struct WsUpstreamHandshake {
  std::string host;                  // the Host field
  std::vector<http::Header> fields;  // every other field, in order
};
WsUpstreamHandshake ws_upstream_handshake(const http::Request& req, const HeadOptions& o);

// Fields of the upstream's 101 worth relaying to the client. `fields`: (name, value) as received.
std::vector<http::Header> ws_relayed_accept_fields(const std::vector<std::pair<std::string, std::string>>& fields);

// The code to close the upstream side with when the client closed with
// `client_code`; 0 = a close frame without a code.
uint16_t ws_upstream_close_code(uint16_t client_code);

}  // namespace hearth::upstream
