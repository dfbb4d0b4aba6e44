#pragma once
// RFC 6455 frames the server sends: never masked, never fragmented (pure).
#include <cstdint>
#include <string>
#include <string_view>

#include "websocket/frame_parser.h"

namespace hearth::websocket {

// Appends one frame (FIN set) to `out`.
void append_frame(std::string& out, Opcode opcode, std::string_view payload);
// A close frame with `code` and `reason` (cut to fit the 125-byte control limit
// on a UTF-8 boundary).
void append_close(std::string& out, uint16_t code, std::string_view reason);
// A client's frame (masked with `mask`, FIN as given): for tests and tools.
std::string client_frame(Opcode opcode, std::string_view payload, bool fin = true,
                         uint32_t mask = 0x37fa213d);

}  // namespace hearth::websocket
