#pragma once
// The daemon <-> Python worker framing (docs/worker-protocol.md): a 16-byte
// little-endian header {u8 type, u8 flags, u16 reserved, u32 length, u64 aux}
// followed by `length` payload bytes. Pure functions, no I/O.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hearth::supervisor {

enum class FrameType : uint8_t {
  Fork = 0x01,           // daemon -> zygote: JSON + SCM_RIGHTS slot sockets
  Shutdown = 0x02,       // daemon -> zygote: exit
  ZygoteReady = 0x10,    // zygote -> daemon: JSON {pid, python, preload, import_ms, threads_after_import}
  ZygoteFailed = 0x11,   // zygote -> daemon: traceback text
  Forked = 0x12,         // zygote -> daemon: JSON {worker_id, pid}
  ForkFailed = 0x13,     // zygote -> daemon: JSON {worker_id, error}
  Request = 0x20,        // daemon -> worker: environ block; aux = body length; raw body follows
  ClientGone = 0x21,     // daemon -> worker: the client of the request in flight went away (empty)
  WorkerReady = 0x30,    // worker -> daemon (slot 0): JSON {pid, worker_id, boot_ms}
  WorkerFailed = 0x31,   // worker -> daemon (slot 0): traceback text
  ResponseStart = 0x32,  // worker -> daemon: "status\0name\0value..."
  ResponseBody = 0x33,   // worker -> daemon: body bytes
  ResponseEnd = 0x34,    // worker -> daemon: flags & kFlagAborted = app failed mid-response
  // WebSockets (a REQUEST with hearth.websocket=1; docs/worker-protocol.md):
  WsReceive = 0x22,      // daemon -> worker: a client message; flags & kFlagText = text (UTF-8), else binary
  WsDisconnect = 0x23,   // daemon -> worker: the client closed or is gone; aux = close code
  WsAccept = 0x35,       // worker -> daemon: "subprotocol\0name\0value..." (subprotocol may be empty)
  WsSend = 0x36,         // worker -> daemon: a message to the client; flags & kFlagText = text
  WsClose = 0x37,        // worker -> daemon: close (aux = code, payload = reason); before WS_ACCEPT: 403
};

inline constexpr std::size_t kHeaderSize = 16;
inline constexpr uint32_t kMaxControlPayload = 64u << 20;  // non-body frames
inline constexpr uint8_t kFlagAborted = 1;  // RESPONSE_END: the app failed mid-response
inline constexpr uint8_t kFlagStream = 2;   // RESPONSE_START: a streamed response (no temp file)
inline constexpr uint8_t kFlagText = 1;     // WS_RECEIVE, WS_SEND: a text message

struct FrameHeader {
  FrameType type = FrameType::Shutdown;
  uint8_t flags = 0;
  uint32_t length = 0;
  uint64_t aux = 0;
};

void encode_header(const FrameHeader& h, char out[kHeaderSize]);
std::string encode_frame(FrameType type, std::string_view payload, uint8_t flags = 0, uint64_t aux = 0);
// nullopt: unknown type or a non-body payload over kMaxControlPayload.
std::optional<FrameHeader> decode_header(const char in[kHeaderSize]);
bool is_known_type(uint8_t type);

struct ResponseHead {
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;
};
// Parses a RESPONSE_START payload; nullopt when malformed (bad status line,
// odd number of fields, CR/LF in a name or value).
std::optional<ResponseHead> parse_response_start(std::string_view payload);

// The same checks without copies (the daemon's hot path): views into the payload.
struct ResponseHeadView {
  int status = 0;
  std::string_view reason;
  // "name\0value\0name\0value" as sent (already checked), "" without headers.
  std::string_view fields;
  // Calls f(name, value) for each header field, in order.
  template <class F>
  void for_each_field(F&& f) const {
    std::string_view rest = fields;
    while (!rest.empty()) {
      std::size_t a = rest.find('\0');
      std::string_view name = rest.substr(0, a);
      rest.remove_prefix(a + 1);
      std::size_t b = rest.find('\0');
      f(name, rest.substr(0, b));
      if (b == std::string_view::npos) break;
      rest.remove_prefix(b + 1);
    }
  }
};
std::optional<ResponseHeadView> scan_response_start(std::string_view payload);
// The same in one pass: checks the payload and calls on_field(name, value) for
// each header field as it goes. On nullopt, fields seen before the fault were
// already passed to on_field: the caller discards them.
template <class F>
std::optional<ResponseHeadView> scan_response_start(std::string_view payload, F&& on_field);

namespace detail {
std::optional<ResponseHeadView> scan_status_line(std::string_view payload);
bool valid_response_field(std::string_view name, std::string_view value);
}  // namespace detail

template <class F>
std::optional<ResponseHeadView> scan_response_start(std::string_view payload, F&& on_field) {
  auto head = detail::scan_status_line(payload);
  if (!head || head->fields.data() == nullptr) return head;
  std::string_view rest = head->fields;
  while (true) {
    std::size_t a = rest.find('\0');
    if (a == std::string_view::npos) return std::nullopt;  // name without value
    std::string_view name = rest.substr(0, a);
    rest.remove_prefix(a + 1);
    std::size_t b = rest.find('\0');
    std::string_view value = rest.substr(0, b);
    if (!detail::valid_response_field(name, value)) return std::nullopt;
    on_field(name, value);
    if (b == std::string_view::npos) break;
    rest.remove_prefix(b + 1);
  }
  return head;
}

// Readers for the flat JSON objects the runtime sends (Boost.JSON): a value of
// another kind, a missing key or a malformed document give nullopt.
std::optional<int64_t> json_int(std::string_view json, std::string_view key);
std::optional<std::string> json_string(std::string_view json, std::string_view key);
// JSON string escaping (common/json_escape.h: UTF-8 kept, invalid bytes as \u00XX).
std::string json_escape(std::string_view s);

// Incremental decoder for one socket's byte stream. Body frames are streamed:
// their payload is delivered in pieces as it arrives, never held whole.
class FrameDecoder {
 public:
  struct Event {
    enum class Kind {
      Frame,      // a complete non-body frame: header + payload
      BodyChunk,  // part of a RESPONSE_BODY payload
      Error,      // protocol violation; the stream is unusable
    };
    Kind kind;
    FrameHeader header;
    std::string_view payload;  // valid until the next feed()
  };
  // Consumes `data`, calling on_event for each event. Returns false after an Error.
  template <typename F>
  bool feed(std::string_view data, F&& on_event);
  bool failed() const { return failed_; }

 private:
  enum class Phase { Header, Payload };
  Phase phase_ = Phase::Header;
  char hdr_[kHeaderSize];
  std::size_t hdr_have_ = 0;
  FrameHeader cur_{};
  uint64_t remaining_ = 0;
  std::string payload_;
  bool failed_ = false;
};

template <typename F>
bool FrameDecoder::feed(std::string_view data, F&& on_event) {
  while (!failed_ && !data.empty()) {
    if (phase_ == Phase::Header) {
      std::size_t take = std::min(kHeaderSize - hdr_have_, data.size());
      std::copy_n(data.data(), take, hdr_ + hdr_have_);
      hdr_have_ += take;
      data.remove_prefix(take);
      if (hdr_have_ < kHeaderSize) break;
      hdr_have_ = 0;
      auto h = decode_header(hdr_);
      if (!h) {
        failed_ = true;
        on_event(Event{Event::Kind::Error, {}, {}});
        return false;
      }
      cur_ = *h;
      remaining_ = h->length;
      payload_.clear();
      if (remaining_ == 0) {
        if (cur_.type != FrameType::ResponseBody) on_event(Event{Event::Kind::Frame, cur_, {}});
        continue;
      }
      phase_ = Phase::Payload;
      continue;
    }
    std::size_t take = static_cast<std::size_t>(std::min<uint64_t>(remaining_, data.size()));
    if (cur_.type == FrameType::ResponseBody) {
      on_event(Event{Event::Kind::BodyChunk, cur_, data.substr(0, take)});
    } else {
      payload_.append(data.data(), take);
    }
    data.remove_prefix(take);
    remaining_ -= take;
    if (remaining_ == 0) {
      phase_ = Phase::Header;
      if (cur_.type != FrameType::ResponseBody) on_event(Event{Event::Kind::Frame, cur_, payload_});
    }
  }
  return !failed_;
}

}  // namespace hearth::supervisor
