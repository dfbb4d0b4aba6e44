// libFuzzer target: the RFC 6455 client-frame parser (websocket/frame_parser.h).
// The first input byte picks the read size (1..256) and max_message_size
// (its low 4 bits: 2^bits bytes); the rest is the client's byte stream.
// Checks per input:
//  1. Fed whole and fed in pieces, the parser reports identical events.
//  2. A text Message is valid UTF-8; a Message is at most max_message_size;
//     a Ping/Pong payload is at most 125 bytes; a Close code is sendable (or
//     1005 for none) and its reason is UTF-8; an Error code is 1002, 1007 or 1009.
//  3. Nothing comes after an Error.
//  4. Every Message re-framed with client_frame() parses back to itself.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "websocket/frame_encoder.h"
#include "websocket/frame_parser.h"
#include "websocket/utf8.h"

namespace ws = hearth::websocket;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

struct Seen {
  ws::FrameParser::Event::Kind kind;
  bool text;
  std::string data;
  uint16_t code;
  bool operator==(const Seen&) const = default;
};

std::vector<Seen> feed(std::string_view in, std::size_t step, ws::FrameParser::Options o) {
  ws::FrameParser p(o);
  std::vector<Seen> out;
  for (std::size_t at = 0; at < in.size(); at += step) {
    std::string_view rest = in.substr(at, step);
    while (auto ev = p.next(rest)) {
      check(out.empty() || out.back().kind != ws::FrameParser::Event::Kind::Error);
      out.push_back(Seen{ev->kind, ev->text, std::string(ev->data), ev->code});
    }
    if (p.failed()) break;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::size_t step = static_cast<std::size_t>(data[0]) + 1;
  ws::FrameParser::Options o;
  o.max_message_size = std::size_t{1} << (data[0] & 0x0F);
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  using Kind = ws::FrameParser::Event::Kind;
  auto whole = feed(in, in.size() ? in.size() : 1, o);
  auto split = feed(in, step, o);
  check(whole == split);
  for (const auto& e : whole) {
    switch (e.kind) {
      case Kind::Message: {
        check(e.data.size() <= o.max_message_size);
        check(!e.text || ws::valid_utf8(e.data));
        auto again = feed(ws::client_frame(e.text ? ws::Opcode::Text : ws::Opcode::Binary, e.data), 7, o);
        check(again.size() == 1 && again[0] == e);
        break;
      }
      case Kind::Ping:
      case Kind::Pong:
        check(e.data.size() <= 125);
        break;
      case Kind::Close:
        check(e.code == ws::close_code::kNoStatus || ws::valid_close_code(e.code));
        check(ws::valid_utf8(e.data));
        break;
      case Kind::Error:
        check(e.code == 1002 || e.code == 1007 || e.code == 1009);
        break;
    }
  }
  return 0;
}
