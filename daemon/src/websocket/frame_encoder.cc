#include "websocket/frame_encoder.h"

namespace hearth::websocket {

namespace {

void append_head(std::string& out, uint8_t b0, bool masked, uint64_t len) {
  const char mask_bit = masked ? static_cast<char>(0x80) : 0;
  out.push_back(static_cast<char>(b0));
  if (len < 126) {
    out.push_back(static_cast<char>(mask_bit | static_cast<char>(len)));
  } else if (len <= 0xFFFF) {
    out.push_back(static_cast<char>(mask_bit | 126));
    out.push_back(static_cast<char>(len >> 8));
    out.push_back(static_cast<char>(len & 0xFF));
  } else {
    out.push_back(static_cast<char>(mask_bit | 127));
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((len >> (8 * i)) & 0xFF));
  }
}

}  // namespace

void append_frame(std::string& out, Opcode opcode, std::string_view payload) {
  append_head(out, static_cast<uint8_t>(0x80 | static_cast<uint8_t>(opcode)), false, payload.size());
  out.append(payload);
}

void append_close(std::string& out, uint16_t code, std::string_view reason) {
  if (reason.size() > 123) {
    std::size_t n = 123;
    // Do not cut inside a UTF-8 sequence: back up over continuation bytes.
    while (n > 0 && (static_cast<unsigned char>(reason[n]) & 0xC0) == 0x80) --n;
    reason = reason.substr(0, n);
  }
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code & 0xFF));
  payload.append(reason);
  append_frame(out, Opcode::Close, payload);
}

std::string client_frame(Opcode opcode, std::string_view payload, bool fin, uint32_t mask) {
  std::string out;
  append_head(out, static_cast<uint8_t>((fin ? 0x80 : 0) | static_cast<uint8_t>(opcode)), true, payload.size());
  const unsigned char m[4] = {static_cast<unsigned char>(mask >> 24), static_cast<unsigned char>(mask >> 16),
                              static_cast<unsigned char>(mask >> 8), static_cast<unsigned char>(mask)};
  out.append(reinterpret_cast<const char*>(m), 4);
  for (std::size_t i = 0; i < payload.size(); ++i) out.push_back(static_cast<char>(payload[i] ^ m[i & 3]));
  return out;
}

}  // namespace hearth::websocket
