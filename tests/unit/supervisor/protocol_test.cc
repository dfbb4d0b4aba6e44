#include "supervisor/protocol.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hearth::supervisor {
namespace {

using namespace std::string_literals;
using Kind = FrameDecoder::Event::Kind;

// One decoder event, copied out (the payload view dies at the next feed()).
struct Ev {
  Kind kind;
  FrameType type;
  uint8_t flags;
  uint32_t length;
  uint64_t aux;
  std::string payload;
  bool operator==(const Ev&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Ev& e) {
  return os << "{kind=" << static_cast<int>(e.kind) << " type=0x" << std::hex << static_cast<int>(e.type)
            << std::dec << " flags=" << int(e.flags) << " len=" << e.length << " aux=" << e.aux << " payload=\""
            << e.payload << "\"}";
}

// Feeds `data` in pieces of `piece` bytes; consecutive BodyChunk events of the
// same frame are merged so that different splits can be compared.
std::vector<Ev> decode(std::string_view data, std::size_t piece, bool merge_body = true) {
  FrameDecoder d;
  std::vector<Ev> out;
  bool body_open = false;  // the last event is a BodyChunk of the current body frame
  uint64_t body_left = 0;
  while (!data.empty()) {
    std::size_t n = std::min(piece, data.size());
    d.feed(data.substr(0, n), [&](const FrameDecoder::Event& e) {
      if (e.kind == Kind::BodyChunk && merge_body && body_open) {
        out.back().payload.append(e.payload);
      } else {
        out.push_back(Ev{e.kind, e.header.type, e.header.flags, e.header.length, e.header.aux,
                         std::string(e.payload)});
        if (e.kind == Kind::BodyChunk) body_left = e.header.length;
      }
      if (e.kind == Kind::BodyChunk) {
        body_left -= e.payload.size();
        body_open = body_left > 0;
      } else {
        body_open = false;
      }
    });
    data.remove_prefix(n);
  }
  return out;
}

TEST(ProtocolHeader, EncodesLittleEndianLayout) {
  char out[kHeaderSize];
  encode_header(FrameHeader{FrameType::Request, 0x5a, 0x04030201u, 0x0c0b0a0908070605ull}, out);
  const unsigned char expected[kHeaderSize] = {0x20, 0x5a, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04,
                                               0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c};
  for (std::size_t i = 0; i < kHeaderSize; ++i)
    EXPECT_EQ(static_cast<unsigned char>(out[i]), expected[i]) << "byte " << i;
}

TEST(ProtocolHeader, RoundTrip) {
  for (FrameType t : {FrameType::Fork, FrameType::Shutdown, FrameType::ZygoteReady, FrameType::ZygoteFailed,
                      FrameType::Forked, FrameType::ForkFailed, FrameType::Request, FrameType::WorkerReady,
                      FrameType::WorkerFailed, FrameType::ResponseStart, FrameType::ResponseBody,
                      FrameType::ResponseEnd}) {
    char buf[kHeaderSize];
    encode_header(FrameHeader{t, 1, 12345, 0xfedcba9876543210ull}, buf);
    auto h = decode_header(buf);
    ASSERT_TRUE(h) << static_cast<int>(t);
    EXPECT_EQ(h->type, t);
    EXPECT_EQ(h->flags, 1);
    EXPECT_EQ(h->length, 12345u);
    EXPECT_EQ(h->aux, 0xfedcba9876543210ull);
  }
}

TEST(ProtocolHeader, EncodeFrameAppendsPayload) {
  std::string f = encode_frame(FrameType::ResponseEnd, "xyz", kFlagAborted, 7);
  ASSERT_EQ(f.size(), kHeaderSize + 3);
  EXPECT_EQ(f[0], '\x34');
  EXPECT_EQ(f[1], '\x01');
  EXPECT_EQ(f.substr(4, 4), "\x03\x00\x00\x00"s);
  EXPECT_EQ(f.substr(8, 8), "\x07\x00\x00\x00\x00\x00\x00\x00"s);
  EXPECT_EQ(f.substr(kHeaderSize), "xyz");
}

TEST(ProtocolHeader, UnknownTypeRejected) {
  for (int t : {0x00, 0x03, 0x0f, 0x14, 0x21, 0x24, 0x2f, 0x38, 0x80, 0xff}) {
    EXPECT_FALSE(is_known_type(static_cast<uint8_t>(t))) << t;
    char buf[kHeaderSize] = {};
    buf[0] = static_cast<char>(t);
    EXPECT_FALSE(decode_header(buf)) << t;
  }
  EXPECT_TRUE(is_known_type(0x20));
  EXPECT_TRUE(is_known_type(0x34));
  for (int t : {0x22, 0x23, 0x35, 0x36, 0x37}) EXPECT_TRUE(is_known_type(static_cast<uint8_t>(t))) << t;  // WebSocket
}

TEST(ProtocolHeader, ControlPayloadLimit) {
  char buf[kHeaderSize];
  encode_header(FrameHeader{FrameType::WorkerReady, 0, kMaxControlPayload, 0}, buf);
  ASSERT_TRUE(decode_header(buf));
  EXPECT_EQ(decode_header(buf)->length, kMaxControlPayload);
  encode_header(FrameHeader{FrameType::WorkerReady, 0, kMaxControlPayload + 1, 0}, buf);
  EXPECT_FALSE(decode_header(buf));
  encode_header(FrameHeader{FrameType::ResponseStart, 0, 0xffffffffu, 0}, buf);
  EXPECT_FALSE(decode_header(buf));
  encode_header(FrameHeader{FrameType::Request, 0, kMaxControlPayload + 1, 0}, buf);
  EXPECT_FALSE(decode_header(buf));
}

TEST(ProtocolHeader, LargeBodyLengthAccepted) {
  char buf[kHeaderSize];
  encode_header(FrameHeader{FrameType::ResponseBody, 0, 0xffffffffu, 0}, buf);
  auto h = decode_header(buf);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->type, FrameType::ResponseBody);
  EXPECT_EQ(h->length, 0xffffffffu);
}

std::string sample_stream() {
  return encode_frame(FrameType::WorkerReady, R"({"pid":42,"worker_id":1,"boot_ms":5})") +
         encode_frame(FrameType::ResponseStart, "200 OK\0Content-Type\0text/plain"s) +
         encode_frame(FrameType::ResponseBody, "hello, ") + encode_frame(FrameType::ResponseBody, "world") +
         encode_frame(FrameType::ResponseEnd, "", kFlagAborted) +
         encode_frame(FrameType::Forked, R"({"worker_id":3,"pid":99})", 0, 77);
}

TEST(FrameDecoder, OnePieceEvents) {
  auto ev = decode(sample_stream(), 1 << 20, /*merge_body=*/false);
  std::vector<Ev> expected = {
      {Kind::Frame, FrameType::WorkerReady, 0, 36, 0, R"({"pid":42,"worker_id":1,"boot_ms":5})"},
      {Kind::Frame, FrameType::ResponseStart, 0, 30, 0, "200 OK\0Content-Type\0text/plain"s},
      {Kind::BodyChunk, FrameType::ResponseBody, 0, 7, 0, "hello, "},
      {Kind::BodyChunk, FrameType::ResponseBody, 0, 5, 0, "world"},
      {Kind::Frame, FrameType::ResponseEnd, kFlagAborted, 0, 0, ""},
      {Kind::Frame, FrameType::Forked, 0, 24, 77, R"({"worker_id":3,"pid":99})"},
  };
  EXPECT_EQ(ev, expected);
}

TEST(FrameDecoder, ByteByByteGivesSameEvents) {
  std::string s = sample_stream();
  auto whole = decode(s, s.size());
  for (std::size_t piece : {1u, 2u, 3u, 7u, 15u, 16u, 17u}) {
    EXPECT_EQ(decode(s, piece), whole) << "piece " << piece;
  }
  EXPECT_EQ(whole.size(), 6u);
}

TEST(FrameDecoder, BodyStreamedInPieces) {
  std::string body(1000, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
  std::string s = encode_frame(FrameType::ResponseBody, body);
  FrameDecoder d;
  std::vector<std::string> chunks;
  // Header plus 100 body bytes, then the rest in 300-byte pieces.
  std::string_view v = s;
  auto sink = [&](const FrameDecoder::Event& e) {
    ASSERT_EQ(e.kind, Kind::BodyChunk);
    EXPECT_EQ(e.header.length, 1000u);
    chunks.emplace_back(e.payload);
  };
  ASSERT_TRUE(d.feed(v.substr(0, kHeaderSize + 100), sink));
  v.remove_prefix(kHeaderSize + 100);
  while (!v.empty()) {
    std::size_t n = std::min<std::size_t>(300, v.size());
    ASSERT_TRUE(d.feed(v.substr(0, n), sink));
    v.remove_prefix(n);
  }
  ASSERT_EQ(chunks.size(), 4u);  // 100 + 300 + 300 + 300
  EXPECT_EQ(chunks[0].size(), 100u);
  EXPECT_EQ(chunks[3].size(), 300u);
  std::string joined;
  for (auto& c : chunks) joined += c;
  EXPECT_EQ(joined, body);
}

TEST(FrameDecoder, BodyChunkStopsAtFrameBoundary) {
  // The next frame's header arrives in the same read as the body's tail.
  std::string s = encode_frame(FrameType::ResponseBody, "abc") + encode_frame(FrameType::ResponseEnd, "");
  auto ev = decode(s, s.size(), false);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].payload, "abc");
  EXPECT_EQ(ev[1].type, FrameType::ResponseEnd);
}

TEST(FrameDecoder, ZeroLengthFrames) {
  std::string s = encode_frame(FrameType::Shutdown, "") + encode_frame(FrameType::ResponseBody, "") +
                  encode_frame(FrameType::ResponseEnd, "") + encode_frame(FrameType::ResponseStart, "204");
  for (std::size_t piece : {1u, 16u, 1000u}) {
    auto ev = decode(s, piece, false);
    // An empty body frame carries nothing, so it produces no event.
    std::vector<Ev> expected = {
        {Kind::Frame, FrameType::Shutdown, 0, 0, 0, ""},
        {Kind::Frame, FrameType::ResponseEnd, 0, 0, 0, ""},
        {Kind::Frame, FrameType::ResponseStart, 0, 3, 0, "204"},
    };
    EXPECT_EQ(ev, expected) << "piece " << piece;
  }
}

TEST(FrameDecoder, UnknownTypeIsErrorAndSticky) {
  FrameDecoder d;
  std::vector<Kind> kinds;
  auto rec = [&](const FrameDecoder::Event& e) { kinds.push_back(e.kind); };
  std::string good = encode_frame(FrameType::ResponseEnd, "");
  std::string bad(kHeaderSize, '\0');
  bad[0] = '\x77';
  EXPECT_FALSE(d.feed(good + bad + good, rec));
  EXPECT_TRUE(d.failed());
  EXPECT_EQ(kinds, (std::vector<Kind>{Kind::Frame, Kind::Error}));
  kinds.clear();
  EXPECT_FALSE(d.feed(good, rec));
  EXPECT_TRUE(kinds.empty());
}

TEST(FrameDecoder, OversizedControlFrameIsError) {
  FrameDecoder d;
  char hdr[kHeaderSize];
  encode_header(FrameHeader{FrameType::ResponseStart, 0, kMaxControlPayload + 1, 0}, hdr);
  int errors = 0;
  EXPECT_FALSE(d.feed(std::string_view(hdr, kHeaderSize), [&](const FrameDecoder::Event& e) {
    errors += e.kind == Kind::Error;
  }));
  EXPECT_EQ(errors, 1);
}

TEST(FrameDecoder, PartialHeaderWaits) {
  FrameDecoder d;
  int events = 0;
  std::string s = encode_frame(FrameType::ResponseEnd, "");
  EXPECT_TRUE(d.feed(std::string_view(s).substr(0, 15), [&](const FrameDecoder::Event&) { ++events; }));
  EXPECT_EQ(events, 0);
  EXPECT_TRUE(d.feed(std::string_view(s).substr(15), [&](const FrameDecoder::Event&) { ++events; }));
  EXPECT_EQ(events, 1);
}

// ---- RESPONSE_START ----

TEST(ParseResponseStart, StatusReasonAndHeaders) {
  auto h = parse_response_start("200 OK\0Content-Type\0text/plain\0Set-Cookie\0a=1; Path=/"s);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(h->reason, "OK");
  ASSERT_EQ(h->headers.size(), 2u);
  EXPECT_EQ(h->headers[0], (std::pair<std::string, std::string>{"Content-Type", "text/plain"}));
  EXPECT_EQ(h->headers[1], (std::pair<std::string, std::string>{"Set-Cookie", "a=1; Path=/"}));
}

TEST(ScanResponseStart, ViewsIntoThePayloadInOrder) {
  const std::string payload = "201 Created\0Location\0/x\0X-Empty\0\0Set-Cookie\0a=1"s;
  auto h = scan_response_start(payload);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 201);
  EXPECT_EQ(h->reason, "Created");
  EXPECT_EQ(h->reason.data(), payload.data() + 4);  // no copy
  std::vector<std::pair<std::string, std::string>> seen;
  h->for_each_field([&](std::string_view n, std::string_view v) { seen.emplace_back(n, v); });
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, std::string>>{
                      {"Location", "/x"}, {"X-Empty", ""}, {"Set-Cookie", "a=1"}}));
  auto bare = scan_response_start("204");
  ASSERT_TRUE(bare);
  int calls = 0;
  bare->for_each_field([&](std::string_view, std::string_view) { ++calls; });
  EXPECT_EQ(calls, 0);
  for (std::string bad : {"200 OK\0X-A"s, "200 OK\0X A\0v"s, "200 OK\0X-A\0a\rb"s, "20x OK"s, "099"s}) {
    EXPECT_FALSE(scan_response_start(bad)) << bad;
  }
}

TEST(ParseResponseStart, ReasonWithSpacesAndLatin1) {
  auto h = parse_response_start("404 Not Found \xe9"s);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 404);
  EXPECT_EQ(h->reason, "Not Found \xe9");
  EXPECT_TRUE(h->headers.empty());
}

TEST(ParseResponseStart, MissingReasonOk) {
  auto h = parse_response_start("204");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 204);
  EXPECT_EQ(h->reason, "");
  h = parse_response_start("302\0Location\0/x"s);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 302);
  EXPECT_EQ(h->reason, "");
  ASSERT_EQ(h->headers.size(), 1u);
  EXPECT_EQ(h->headers[0].second, "/x");
}

TEST(ParseResponseStart, EmptyHeaderValueOk) {
  auto h = parse_response_start("200 OK\0X-Empty\0"s);
  ASSERT_TRUE(h);
  ASSERT_EQ(h->headers.size(), 1u);
  EXPECT_EQ(h->headers[0].first, "X-Empty");
  EXPECT_EQ(h->headers[0].second, "");
}

TEST(ParseResponseStart, StatusBounds) {
  EXPECT_EQ(parse_response_start("100 Continue")->status, 100);
  EXPECT_EQ(parse_response_start("999 Custom")->status, 999);
}

TEST(ParseResponseStart, BadStatusRejected) {
  for (std::string s : {""s, "20"s, "20 OK"s, "2000 OK"s, "200OK"s, "abc OK"s, "2x0 OK"s, "099 Low"s, "000"s,
                        " 200 OK"s, "+20 OK"s, "-20 OK"s, "200\tOK"s, "200 O\rK"s, "200 OK\n"s}) {
    EXPECT_FALSE(parse_response_start(s)) << '"' << s << '"';
  }
}

TEST(ParseResponseStart, CrLfInValueRejected) {
  EXPECT_FALSE(parse_response_start("200 OK\0X-A\0a\r\nX-Injected: 1"s));
  EXPECT_FALSE(parse_response_start("200 OK\0X-A\0a\nb"s));
  EXPECT_FALSE(parse_response_start("200 OK\0X-A\0a\rb"s));
}

TEST(ParseResponseStart, OddFieldCountRejected) {
  EXPECT_FALSE(parse_response_start("200 OK\0Content-Type"s));
  EXPECT_FALSE(parse_response_start("200 OK\0A\0b\0C"s));
  EXPECT_FALSE(parse_response_start("200 OK\0"s));
}

TEST(ParseResponseStart, InvalidHeaderNameRejected) {
  for (std::string name : {""s, "Bad Name"s, "Bad:Name"s, "Bad\tName"s, "Bad\x7f"s, "Bad\x80"s, "X\r"s,
                           "X\n"s, "\x01"s}) {
    std::string payload = "200 OK\0"s + name + "\0v"s;
    EXPECT_FALSE(parse_response_start(payload)) << "name \"" << name << '"';
  }
  // Visible ASCII without ':' is fine, including tokens with odd characters.
  auto h = parse_response_start("200 OK\0X-Odd!#$%&'*+.^_`|~\0v"s);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->headers[0].first, "X-Odd!#$%&'*+.^_`|~");
}

// ---- JSON helpers ----

TEST(JsonHelpers, Int) {
  std::string_view j = R"({"pid": 1234, "worker_id":7,"neg":-3,"big":9007199254740993,"s":"12","n":null})";
  EXPECT_EQ(json_int(j, "pid"), 1234);
  EXPECT_EQ(json_int(j, "worker_id"), 7);
  EXPECT_EQ(json_int(j, "neg"), -3);
  EXPECT_EQ(json_int(j, "big"), 9007199254740993LL);
  EXPECT_FALSE(json_int(j, "s"));
  EXPECT_FALSE(json_int(j, "n"));
  EXPECT_FALSE(json_int(j, "missing"));
  EXPECT_FALSE(json_int(j, "pi"));  // a prefix of a key is not the key
  EXPECT_FALSE(json_int("not json", "pid"));
  EXPECT_FALSE(json_int(R"({"pid":1} trailing)", "pid"));
  EXPECT_FALSE(json_int("[1,2]", "pid"));
}

TEST(JsonHelpers, KeyTextInsideAValueIsSkipped) {
  std::string_view j = R"({"error":"pid","pid":5})";
  EXPECT_EQ(json_int(j, "pid"), 5);
  EXPECT_EQ(json_string(j, "error"), "pid");
}

TEST(JsonHelpers, String) {
  std::string_view j = R"({"python":"3.11.2","error":"a \"q\" \\ b\nc\td\re\/f","u":"\u0041\u00e9","n":1})";
  EXPECT_EQ(json_string(j, "python"), "3.11.2");
  EXPECT_EQ(json_string(j, "error"), "a \"q\" \\ b\nc\td\re/f");
  EXPECT_EQ(json_string(j, "u"), "A\xc3\xa9");  // \u escapes decode to UTF-8
  EXPECT_FALSE(json_string(j, "n"));
  EXPECT_FALSE(json_string(j, "missing"));
  EXPECT_FALSE(json_string(R"({"a":"unterminated)", "a"));
  EXPECT_EQ(json_string(R"({"a" : "spaced"})", "a"), "spaced");
  EXPECT_EQ(json_string(R"({"a":""})", "a"), "");
}

TEST(JsonHelpers, StringDecodesEveryEscapePythonWrites) {
  // json.dumps("\b\f\n\r\t\"\\\x01") == '"\\b\\f\\n\\r\\t\\"\\\\\\u0001"'
  std::string_view j = R"({"error":"\b\f\n\r\t\"\\\u0001"})";
  EXPECT_EQ(json_string(j, "error"), "\b\f\n\r\t\"\\\x01");
}

TEST(JsonHelpers, Escape) {
  EXPECT_EQ(json_escape("plain"), "plain");
  EXPECT_EQ(json_escape("a\"b\\c\nd\re\tf"), "a\\\"b\\\\c\\nd\\re\\tf");
  EXPECT_EQ(json_escape("\x01\x1f"s), "\\u0001\\u001f");
  EXPECT_EQ(json_escape("\0"s), "\\u0000");
  EXPECT_EQ(json_escape("caf\xc3\xa9"), "caf\xc3\xa9");  // UTF-8 passes through
}

TEST(JsonHelpers, EscapeRoundTripsThroughJsonString) {
  std::string nasty = "x\"y\\z\n\t\r\x02 end";
  std::string j = "{\"k\":\"" + json_escape(nasty) + "\"}";
  EXPECT_EQ(json_string(j, "k"), nasty);
}

TEST(ResponseFieldCheck, SameVerdictsAsTheBytewiseRule) {
  // The word-at-a-time check against the rule written out: names are visible
  // ASCII without ':', values carry no CR or LF. Every byte value at every
  // position of names and values of length 1..20 (short loop, whole words,
  // overlapping tail).
  auto reference = [](std::string_view name, std::string_view value) {
    if (name.empty()) return false;
    for (char c : value)
      if (c == '\r' || c == '\n') return false;
    for (char c : name) {
      const unsigned char u = static_cast<unsigned char>(c);
      if (u == ':' || u < 0x21 || u > 0x7e) return false;
    }
    return true;
  };
  int disagree = 0, ok = 0;
  const std::string base_name = "Content-Security-Pol", base_value = "text/plain; charset";
  for (std::size_t len = 1; len <= 20; ++len) {
    for (std::size_t pos = 0; pos < len; ++pos) {
      for (int c = 0; c < 256; ++c) {
        std::string name = base_name.substr(0, len), value = base_value.substr(0, len);
        name[pos] = static_cast<char>(c);
        const bool want_n = reference(name, "v");
        disagree += detail::valid_response_field(name, "v") != want_n;
        ok += want_n;
        value[pos] = static_cast<char>(c);
        const bool want_v = reference("X", value);
        disagree += detail::valid_response_field("X", value) != want_v;
      }
    }
  }
  EXPECT_EQ(disagree, 0);
  EXPECT_GT(ok, 0);
  EXPECT_FALSE(detail::valid_response_field("", "v"));
  EXPECT_TRUE(detail::valid_response_field("X", ""));
  EXPECT_FALSE(detail::valid_response_field("Set-Cookie", "a=1\r\nX-Injected: 1"));
  EXPECT_FALSE(detail::valid_response_field("Bad Name", "v"));
}

}  // namespace
}  // namespace hearth::supervisor
