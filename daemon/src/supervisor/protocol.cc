#include "supervisor/protocol.h"

#include "common/json_escape.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <bit>
#include <cstring>

namespace hearth::supervisor {
namespace {

// Little-endian fields of the frame header: one load or store each on a
// little-endian host (a byte loop cost ~55 instructions per decoded header).
template <class T>
T to_le(T v) {
  if constexpr (std::endian::native == std::endian::little) return v;
  else if constexpr (sizeof(T) == 4) return __builtin_bswap32(v);
  else return __builtin_bswap64(v);
}
void put_le32(char* out, uint32_t v) {
  v = to_le(v);
  std::memcpy(out, &v, 4);
}
void put_le64(char* out, uint64_t v) {
  v = to_le(v);
  std::memcpy(out, &v, 8);
}
uint32_t get_le32(const char* in) {
  uint32_t v;
  std::memcpy(&v, in, 4);
  return to_le(v);
}
uint64_t get_le64(const char* in) {
  uint64_t v;
  std::memcpy(&v, in, 8);
  return to_le(v);
}

bool has_crlf(std::string_view s) {
  for (char c : s) {
    if (c == '\r' || c == '\n') return true;
  }
  return false;
}

// Finds the raw value text after "key": in a flat JSON object.
// The flat JSON objects the runtime sends (WORKER_READY, FORKED, ...): one
// Boost.JSON parse (common/boost_json.cc); nullptr when malformed or not an object.
const boost::json::value* json_field(std::string_view json, std::string_view key, boost::json::value& doc) {
  boost::system::error_code ec;
  doc = boost::json::parse(json, ec);
  if (ec || !doc.is_object()) return nullptr;
  return doc.as_object().if_contains(key);
}

}  // namespace

bool is_known_type(uint8_t t) {
  switch (t) {
    case 0x01: case 0x02: case 0x10: case 0x11: case 0x12: case 0x13:
    case 0x20: case 0x30: case 0x31: case 0x32: case 0x33: case 0x34:
      return true;
    case 0x22: case 0x23: case 0x35: case 0x36: case 0x37:  // WebSocket frames (docs/worker-protocol.md)
      return true;
    default:
      return false;
  }
}

void encode_header(const FrameHeader& h, char out[kHeaderSize]) {
  out[0] = static_cast<char>(h.type);
  out[1] = static_cast<char>(h.flags);
  out[2] = out[3] = 0;
  put_le32(out + 4, h.length);
  put_le64(out + 8, h.aux);
}

std::string encode_frame(FrameType type, std::string_view payload, uint8_t flags, uint64_t aux) {
  std::string out(kHeaderSize, '\0');
  encode_header(FrameHeader{type, flags, static_cast<uint32_t>(payload.size()), aux}, out.data());
  out.append(payload);
  return out;
}

std::optional<FrameHeader> decode_header(const char in[kHeaderSize]) {
  uint8_t t = static_cast<uint8_t>(in[0]);
  if (!is_known_type(t)) return std::nullopt;
  FrameHeader h;
  h.type = static_cast<FrameType>(t);
  h.flags = static_cast<uint8_t>(in[1]);
  h.length = get_le32(in + 4);
  h.aux = get_le64(in + 8);
  if (h.type != FrameType::ResponseBody && h.length > kMaxControlPayload) return std::nullopt;
  return h;
}

namespace detail {

// The status line; `fields` is what follows its NUL (a null view without one).
std::optional<ResponseHeadView> scan_status_line(std::string_view payload) {
  ResponseHeadView head;
  std::size_t nul = payload.find('\0');
  std::string_view status_line = payload.substr(0, nul);
  // "200 OK": three digits, then optional space + reason.
  if (status_line.size() < 3 || has_crlf(status_line)) return std::nullopt;
  int code = 0;
  for (int i = 0; i < 3; ++i) {
    char c = status_line[static_cast<std::size_t>(i)];
    if (c < '0' || c > '9') return std::nullopt;
    code = code * 10 + (c - '0');
  }
  if (code < 100) return std::nullopt;
  if (status_line.size() > 3) {
    if (status_line[3] != ' ') return std::nullopt;
    head.reason = status_line.substr(4);
  }
  head.status = code;
  if (nul != std::string_view::npos) head.fields = std::string_view(payload.data() + nul + 1, payload.size() - nul - 1);
  return head;
}

// Fields are NUL-separated, so a NUL inside one cannot occur; names are
// visible ASCII without ':', values carry no CR/LF.
namespace {

constexpr uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x80 * kOnes;

inline uint64_t load8(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
// Bit 7 set in some byte iff the word has a zero byte.
inline uint64_t zero_byte(uint64_t x) { return (x - kOnes) & ~x & kHigh; }

// Eight name bytes at once: all visible ASCII (0x21-0x7e), none ':'.
inline bool name_word_ok(uint64_t x) {
  if (x & kHigh) return false;                              // >= 0x80
  if (((x + (0x80 - 0x21) * kOnes) & kHigh) != kHigh) return false;  // some byte < 0x21
  if ((x + kOnes) & kHigh) return false;                    // some byte == 0x7f
  return zero_byte(x ^ (':' * kOnes)) == 0;
}
inline bool name_byte_ok(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  return u >= 0x21 && u <= 0x7e && u != ':';
}
inline bool word_has_crlf(uint64_t x) { return (zero_byte(x ^ ('\r' * kOnes)) | zero_byte(x ^ ('\n' * kOnes))) != 0; }

}  // namespace

// Eight bytes per step for names and values of eight bytes or more (the last
// word overlaps the one before it); the same verdicts as the byte-wise rule
// (tests/unit/supervisor/protocol_test.cc compares them).
bool valid_response_field(std::string_view name, std::string_view value) {
  if (name.empty()) return false;
  const char* v = value.data();
  const std::size_t vn = value.size();
  if (vn >= 8) {
    for (std::size_t i = 0; i + 8 <= vn; i += 8)
      if (word_has_crlf(load8(v + i))) return false;
    if (word_has_crlf(load8(v + vn - 8))) return false;
  } else {
    for (std::size_t i = 0; i < vn; ++i)
      if (v[i] == '\r' || v[i] == '\n') return false;
  }
  const char* n = name.data();
  const std::size_t nn = name.size();
  if (nn >= 8) {
    for (std::size_t i = 0; i + 8 <= nn; i += 8)
      if (!name_word_ok(load8(n + i))) return false;
    return name_word_ok(load8(n + nn - 8));
  }
  for (std::size_t i = 0; i < nn; ++i)
    if (!name_byte_ok(n[i])) return false;
  return true;
}

}  // namespace detail

std::optional<ResponseHeadView> scan_response_start(std::string_view payload) {
  return scan_response_start(payload, [](std::string_view, std::string_view) {});
}

std::optional<ResponseHead> parse_response_start(std::string_view payload) {
  auto view = scan_response_start(payload);
  if (!view) return std::nullopt;
  ResponseHead head;
  head.status = view->status;
  head.reason = std::string(view->reason);
  view->for_each_field([&](std::string_view n, std::string_view v) { head.headers.emplace_back(n, v); });
  return head;
}

std::optional<int64_t> json_int(std::string_view json, std::string_view key) {
  boost::json::value doc;
  const boost::json::value* v = json_field(json, key, doc);
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64() && v->as_uint64() <= static_cast<uint64_t>(INT64_MAX)) return static_cast<int64_t>(v->as_uint64());
  return std::nullopt;
}

std::optional<std::string> json_string(std::string_view json, std::string_view key) {
  boost::json::value doc;
  const boost::json::value* v = json_field(json, key, doc);
  if (!v || !v->is_string()) return std::nullopt;
  return std::string(v->as_string());
}

std::string json_escape(std::string_view s) { return json::escaped(s); }

}  // namespace hearth::supervisor
