// libFuzzer target: the daemon's side of the worker protocol
// (supervisor/protocol.h). Three checks per input:
//  1. FrameDecoder over arbitrary bytes, fed whole and fed in pieces (the first
//     byte picks the piece size): the event sequences must be identical, a
//     Frame's payload must match its header length, BodyChunks of one frame must
//     add up to its length, nothing may follow an Error. Every Frame payload also
//     goes through parse_response_start / json_int / json_string.
//  2. Round trip: frames built from the input (type, flags, aux, payload) with
//     encode_frame decode back to the same frames.
//  3. parse_response_start on the raw input: an accepted head has a 3-digit
//     status and no CR/LF/NUL in any name or value; the same for the fields
//     scan_response_start (the daemon's copy-free form) walks.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "supervisor/protocol.h"

namespace {

using namespace hearth::supervisor;

void check(bool ok) {
  if (!ok) std::abort();
}

struct Recorded {
  FrameDecoder::Event::Kind kind;
  uint8_t type;
  uint8_t flags;
  uint32_t length;
  uint64_t aux;
  std::string payload;
  bool operator==(const Recorded&) const = default;
};

// Merges consecutive BodyChunks of the same frame so split feeds compare equal.
void record(std::vector<Recorded>& out, const FrameDecoder::Event& e, bool& merge_ok) {
  Recorded r{e.kind, static_cast<uint8_t>(e.header.type), e.header.flags, e.header.length, e.header.aux,
             std::string(e.payload)};
  if (e.kind == FrameDecoder::Event::Kind::BodyChunk && !out.empty() &&
      out.back().kind == FrameDecoder::Event::Kind::BodyChunk && merge_ok) {
    out.back().payload += r.payload;
  } else {
    out.push_back(std::move(r));
  }
  // A BodyChunk continues the previous one until that frame's length is reached.
  merge_ok = e.kind == FrameDecoder::Event::Kind::BodyChunk && out.back().payload.size() < e.header.length;
}

std::vector<Recorded> decode(std::string_view bytes, std::size_t piece) {
  FrameDecoder d;
  std::vector<Recorded> events;
  bool merge_ok = false;
  bool errored = false;
  while (!bytes.empty()) {
    std::string_view part = bytes.substr(0, piece);
    bytes.remove_prefix(part.size());
    bool ok = d.feed(part, [&](const FrameDecoder::Event& e) {
      check(!errored);
      if (e.kind == FrameDecoder::Event::Kind::Error) errored = true;
      if (e.kind == FrameDecoder::Event::Kind::Frame) {
        check(e.payload.size() == e.header.length);
        check(e.header.type != FrameType::ResponseBody);
        check(is_known_type(static_cast<uint8_t>(e.header.type)));
        if (e.header.type == FrameType::ResponseStart) (void)parse_response_start(e.payload);
        (void)json_int(e.payload, "pid");
        (void)json_string(e.payload, "error");
      }
      if (e.kind == FrameDecoder::Event::Kind::BodyChunk) check(e.header.type == FrameType::ResponseBody);
      record(events, e, merge_ok);
    });
    check(ok == !errored && d.failed() == errored);
    if (!ok) break;
  }
  for (const auto& r : events) {
    if (r.kind == FrameDecoder::Event::Kind::BodyChunk) check(r.payload.size() <= r.length);
  }
  return events;
}

const uint8_t kTypes[] = {0x01, 0x02, 0x10, 0x11, 0x12, 0x13, 0x20, 0x30, 0x31, 0x32, 0x33, 0x34};

void round_trip(std::string_view in) {
  // Each frame: [type index][flags][aux byte][len byte] then len payload bytes.
  std::string stream;
  std::vector<Recorded> want;
  while (in.size() >= 4) {
    FrameType type = static_cast<FrameType>(kTypes[static_cast<uint8_t>(in[0]) % sizeof kTypes]);
    uint8_t flags = static_cast<uint8_t>(in[1]);
    uint64_t aux = static_cast<uint64_t>(static_cast<uint8_t>(in[2])) * 0x0101010101010101ull;
    std::size_t len = static_cast<uint8_t>(in[3]);
    in.remove_prefix(4);
    len = len < in.size() ? len : in.size();
    std::string_view payload = in.substr(0, len);
    in.remove_prefix(len);
    stream += encode_frame(type, payload, flags, aux);
    if (type == FrameType::ResponseBody && payload.empty()) continue;  // no event for an empty body frame
    auto kind = type == FrameType::ResponseBody ? FrameDecoder::Event::Kind::BodyChunk
                                                : FrameDecoder::Event::Kind::Frame;
    want.push_back(Recorded{kind, static_cast<uint8_t>(type), flags, static_cast<uint32_t>(len), aux,
                            std::string(payload)});
  }
  for (std::size_t piece : {std::size_t{1}, std::size_t{7}, stream.size() + 1}) {
    if (stream.empty()) break;
    check(decode(stream, piece) == want);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::size_t piece = static_cast<std::size_t>(data[0] % 32) + 1;
  auto whole = decode(in.substr(1), in.size());
  auto split = decode(in.substr(1), piece);
  check(whole == split);
  round_trip(in.substr(1));
  if (auto head = parse_response_start(in)) {
    check(head->status >= 100 && head->status <= 999);
    for (const auto& [k, v] : head->headers) {
      for (char c : k) check(c != '\r' && c != '\n' && c != '\0');
      for (char c : v) check(c != '\r' && c != '\n' && c != '\0');
    }
  }
  if (auto view = scan_response_start(in)) {
    check(view->status >= 100 && view->status <= 999);
    view->for_each_field([](std::string_view k, std::string_view v) {
      check(!k.empty());
      for (char c : k) check(c > ' ' && c != ':' && static_cast<unsigned char>(c) < 0x7f);
      for (char c : v) check(c != '\r' && c != '\n' && c != '\0');
    });
  }
  return 0;
}
