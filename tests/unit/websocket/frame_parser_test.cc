#include "websocket/frame_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "websocket/frame_encoder.h"
#include "websocket/utf8.h"

namespace hearth::websocket {
namespace {

using Kind = FrameParser::Event::Kind;

struct Seen {
  Kind kind;
  bool text;
  std::string data;
  uint16_t code;
};

// Feeds `bytes` in pieces of `step` bytes and collects every event.
std::vector<Seen> parse(const std::string& bytes, FrameParser::Options o = {}, std::size_t step = 0) {
  FrameParser p(o);
  std::vector<Seen> out;
  if (step == 0) step = bytes.size() ? bytes.size() : 1;
  for (std::size_t at = 0; at < bytes.size(); at += step) {
    std::string_view rest = std::string_view(bytes).substr(at, step);
    while (auto ev = p.next(rest)) {
      out.push_back(Seen{ev->kind, ev->text, std::string(ev->data), ev->code});
      if (ev->kind == Kind::Error) return out;
    }
  }
  return out;
}

TEST(WsFrameParser, MaskedTextMessage) {
  auto ev = parse(client_frame(Opcode::Text, "hello"));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, Kind::Message);
  EXPECT_TRUE(ev[0].text);
  EXPECT_EQ(ev[0].data, "hello");
}

TEST(WsFrameParser, BinaryMessagesOfEveryLengthEncoding) {
  for (std::size_t n : {0u, 125u, 126u, 65535u, 65536u, 200000u}) {
    std::string payload(n, '\0');
    for (std::size_t i = 0; i < n; ++i) payload[i] = static_cast<char>(i * 7);
    // Byte by byte for the small ones: every split of header, mask and payload.
    auto ev = parse(client_frame(Opcode::Binary, payload), {}, n < 300 ? 1 : 4093);
    ASSERT_EQ(ev.size(), 1u) << n;
    EXPECT_EQ(ev[0].kind, Kind::Message);
    EXPECT_FALSE(ev[0].text);
    EXPECT_EQ(ev[0].data, payload) << n;
  }
}

TEST(WsFrameParser, SeveralFramesInOneRead) {
  std::string bytes = client_frame(Opcode::Text, "a") + client_frame(Opcode::Ping, "p") +
                      client_frame(Opcode::Binary, "b") + client_frame(Opcode::Pong, "q");
  auto ev = parse(bytes);
  ASSERT_EQ(ev.size(), 4u);
  EXPECT_EQ(ev[0].data, "a");
  EXPECT_EQ(ev[1].kind, Kind::Ping);
  EXPECT_EQ(ev[1].data, "p");
  EXPECT_EQ(ev[2].data, "b");
  EXPECT_EQ(ev[3].kind, Kind::Pong);
}

TEST(WsFrameParser, UnmaskedClientFrameIs1002) {
  std::string frame;
  append_frame(frame, Opcode::Text, "hi");  // a server frame: no mask
  auto ev = parse(frame);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, Kind::Error);
  EXPECT_EQ(ev[0].code, close_code::kProtocolError);
}

TEST(WsFrameParser, UnmaskedAcceptedWhenNotRequired) {
  std::string frame;
  append_frame(frame, Opcode::Text, "hi");
  FrameParser::Options o;
  o.require_mask = false;
  auto ev = parse(frame, o);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].data, "hi");
}

TEST(WsFrameParser, RsvBitsAre1002) {
  for (unsigned char rsv : {0x40, 0x20, 0x10}) {
    std::string f = client_frame(Opcode::Text, "x");
    f[0] = static_cast<char>(f[0] | rsv);
    auto ev = parse(f);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].kind, Kind::Error);
    EXPECT_EQ(ev[0].code, 1002);
  }
}

TEST(WsFrameParser, UnknownOpcodesAre1002) {
  for (int op : {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
    std::string f = client_frame(Opcode::Text, "x");
    f[0] = static_cast<char>(0x80 | op);
    auto ev = parse(f);
    ASSERT_EQ(ev.size(), 1u) << op;
    EXPECT_EQ(ev[0].kind, Kind::Error) << op;
    EXPECT_EQ(ev[0].code, 1002) << op;
  }
}

TEST(WsFrameParser, ControlFrameLimits) {
  // 126 bytes of ping: too long for a control frame.
  auto ev = parse(client_frame(Opcode::Ping, std::string(126, 'p')));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].code, 1002);
  // A fragmented ping.
  ev = parse(client_frame(Opcode::Ping, "p", /*fin=*/false));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].code, 1002);
  // 125 bytes is fine.
  ev = parse(client_frame(Opcode::Ping, std::string(125, 'p')));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, Kind::Ping);
}

TEST(WsFrameParser, FragmentedMessageWithInterleavedPing) {
  std::string bytes = client_frame(Opcode::Text, "he", false) + client_frame(Opcode::Ping, "x") +
                      client_frame(Opcode::Continuation, "ll", false) +
                      client_frame(Opcode::Continuation, "o", true);
  for (std::size_t step : {0u, 1u, 3u}) {
    auto ev = parse(bytes, {}, step);
    ASSERT_EQ(ev.size(), 2u);
    EXPECT_EQ(ev[0].kind, Kind::Ping);
    EXPECT_EQ(ev[1].kind, Kind::Message);
    EXPECT_TRUE(ev[1].text);
    EXPECT_EQ(ev[1].data, "hello");
  }
}

TEST(WsFrameParser, ContinuationWithoutStartIs1002) {
  auto ev = parse(client_frame(Opcode::Continuation, "x"));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].code, 1002);
}

TEST(WsFrameParser, NewMessageInsideFragmentedOneIs1002) {
  auto ev = parse(client_frame(Opcode::Text, "a", false) + client_frame(Opcode::Binary, "b"));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].code, 1002);
}

TEST(WsFrameParser, Utf8SplitAcrossFragmentsIsValid) {
  const std::string euro = "\xE2\x82\xAC";  // U+20AC in three bytes
  auto ev = parse(client_frame(Opcode::Text, "x" + euro.substr(0, 1), false) +
                  client_frame(Opcode::Continuation, euro.substr(1), true));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, Kind::Message);
  EXPECT_EQ(ev[0].data, "x" + euro);
}

TEST(WsFrameParser, InvalidUtf8TextIs1007) {
  for (std::string bad : {std::string("\xFF"), std::string("\xC0\x80"), std::string("\xED\xA0\x80"),
                          std::string("\xE2\x82"), std::string("\xF4\x90\x80\x80")}) {
    auto ev = parse(client_frame(Opcode::Text, bad));
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].kind, Kind::Error);
    EXPECT_EQ(ev[0].code, close_code::kInvalidData);
  }
  // Binary messages are not checked.
  auto ev = parse(client_frame(Opcode::Binary, "\xFF"));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, Kind::Message);
}

TEST(WsFrameParser, MaxMessageSizeIs1009) {
  FrameParser::Options o;
  o.max_message_size = 10;
  auto ev = parse(client_frame(Opcode::Binary, std::string(10, 'a')), o);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, Kind::Message);
  ev = parse(client_frame(Opcode::Binary, std::string(11, 'a')), o);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].code, close_code::kTooBig);
  // Over the limit only once reassembled.
  ev = parse(client_frame(Opcode::Text, std::string(6, 'a'), false) +
                 client_frame(Opcode::Continuation, std::string(5, 'a'), true),
             o);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].code, close_code::kTooBig);
}

TEST(WsFrameParser, HugeDeclaredLengthFailsBeforeAnyPayload) {
  // Header only: a 2^62-byte frame is refused from its header.
  std::string h;
  h.push_back(static_cast<char>(0x82));
  h.push_back(static_cast<char>(0x80 | 127));
  uint64_t len = 1ull << 62;
  for (int i = 7; i >= 0; --i) h.push_back(static_cast<char>((len >> (8 * i)) & 0xFF));
  h.append("\x01\x02\x03\x04", 4);
  auto ev = parse(h);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].code, close_code::kTooBig);
  // The most significant bit set is a protocol error.
  h[2] = static_cast<char>(0x80);
  ev = parse(h);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].code, close_code::kProtocolError);
}

TEST(WsFrameParser, CloseFrames) {
  std::string payload("\x03\xE8", 2);  // 1000
  auto ev = parse(client_frame(Opcode::Close, payload + "bye"));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, Kind::Close);
  EXPECT_EQ(ev[0].code, 1000);
  EXPECT_EQ(ev[0].data, "bye");
  ev = parse(client_frame(Opcode::Close, ""));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].code, close_code::kNoStatus);
  // One byte of payload, a reserved code, invalid UTF-8 in the reason.
  ev = parse(client_frame(Opcode::Close, "\x03"));
  EXPECT_EQ(ev[0].kind, Kind::Error);
  EXPECT_EQ(ev[0].code, 1002);
  ev = parse(client_frame(Opcode::Close, std::string("\x03\xED", 2)));  // 1005
  EXPECT_EQ(ev[0].code, 1002);
  ev = parse(client_frame(Opcode::Close, std::string("\x03\xE8\xFF", 3)));
  EXPECT_EQ(ev[0].code, 1007);
}

TEST(WsFrameParser, NothingAfterAnError) {
  FrameParser p({});
  std::string bytes = client_frame(Opcode::Continuation, "x") + client_frame(Opcode::Text, "y");
  std::string_view rest = bytes;
  auto ev = p.next(rest);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->kind, Kind::Error);
  EXPECT_TRUE(p.failed());
  EXPECT_FALSE(p.next(rest));
}

TEST(WsCloseCodes, Validity) {
  for (uint16_t c : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999}) EXPECT_TRUE(valid_close_code(c));
  for (uint16_t c : {0, 999, 1004, 1005, 1006, 1012, 1015, 2999, 5000}) EXPECT_FALSE(valid_close_code(c));
}

TEST(WsEncoder, ServerFramesParseBack) {
  std::string out;
  append_frame(out, Opcode::Binary, std::string(70000, 'z'));
  append_close(out, 1009, "too big");
  FrameParser::Options o;
  o.require_mask = false;
  auto ev = parse(out, o);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].data.size(), 70000u);
  EXPECT_EQ(ev[1].kind, Kind::Close);
  EXPECT_EQ(ev[1].code, 1009);
  EXPECT_EQ(ev[1].data, "too big");
}

TEST(WsEncoder, LongCloseReasonCutOnACharacterBoundary) {
  std::string reason;
  for (int i = 0; i < 60; ++i) reason += "\xC3\xA9";  // 120 bytes of two-byte characters... plus more
  reason += "abc\xE2\x82\xAC";                      // 126 bytes
  std::string out;
  append_close(out, 1000, reason);
  EXPECT_LE(out.size() - 2, 125u);
  FrameParser::Options o;
  o.require_mask = false;
  auto ev = parse(out, o);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, Kind::Close);
  EXPECT_TRUE(valid_utf8(ev[0].data));
}

TEST(WsUtf8, Cases) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("plain"));
  EXPECT_TRUE(valid_utf8("\xF0\x9F\x98\x80"));  // U+1F600
  EXPECT_FALSE(valid_utf8("\xF0\x9F\x98"));
  EXPECT_FALSE(valid_utf8("\x80"));
  EXPECT_FALSE(valid_utf8("\xE0\x80\xAF"));  // overlong
}

}  // namespace
}  // namespace hearth::websocket
