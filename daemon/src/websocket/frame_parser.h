#pragma once
// RFC 6455 frame parser for frames a client sends (pure: bytes in, events
// out, no I/O). It unmasks, reassembles fragmented messages, checks text for
// UTF-8, and turns every protocol fault into the close code the server must
// send (1002 protocol error, 1007 invalid data, 1009 too big). After an Error
// event the stream is unusable and the parser consumes nothing more.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hearth::websocket {

enum class Opcode : uint8_t {
  Continuation = 0x0,
  Text = 0x1,
  Binary = 0x2,
  Close = 0x8,
  Ping = 0x9,
  Pong = 0xA,
};

// The close codes the daemon itself uses (RFC 6455 section 7.4.1).
namespace close_code {
inline constexpr uint16_t kNormal = 1000;
inline constexpr uint16_t kGoingAway = 1001;
inline constexpr uint16_t kProtocolError = 1002;
inline constexpr uint16_t kNoStatus = 1005;   // a close frame without a code (never sent)
inline constexpr uint16_t kAbnormal = 1006;   // the connection ended without a close frame (never sent)
inline constexpr uint16_t kInvalidData = 1007;
inline constexpr uint16_t kTooBig = 1009;
inline constexpr uint16_t kInternalError = 1011;
}  // namespace close_code

// A code a peer may put in a close frame: 1000-1003, 1007-1011, 3000-4999.
[[nodiscard]] bool valid_close_code(uint16_t code);

class FrameParser {
 public:
  struct Options {
    uint64_t max_message_size = 1 << 20;  // a whole (reassembled) data message; beyond: 1009
    bool require_mask = true;             // client frames must be masked; else 1002
  };
  struct Event {
    enum class Kind {
      Message,  // a complete text or binary message (data)
      Ping,     // data = the ping's payload (answer with a pong carrying it)
      Pong,     // data = payload
      Close,    // the peer's close frame: code (kNoStatus when absent) and reason (data)
      Error,    // a protocol fault: close with `code`; the parser stops
    };
    Kind kind = Kind::Message;
    bool text = false;      // Message: a text message (valid UTF-8)
    std::string_view data;  // valid until the next call to next()
    uint16_t code = 0;      // Close: the peer's code; Error: the code to send
  };

  explicit FrameParser(Options options) : options_(options) {}

  // Consumes bytes from the front of `data` until one event is complete
  // (returned) or `data` is used up (nullopt: feed more). Call again with the
  // rest until it returns nullopt.
  std::optional<Event> next(std::string_view& data);
  bool failed() const { return failed_; }
  // A fragmented message is being reassembled.
  bool in_message() const { return in_message_; }

 private:
  enum class Phase { Header, Payload };
  Event fail(uint16_t code);
  std::optional<Event> header_done();
  std::optional<Event> frame_done();

  Options options_;
  Phase phase_ = Phase::Header;
  unsigned char hdr_[14] = {};
  std::size_t hdr_have_ = 0;
  // The frame being read.
  bool fin_ = false;
  Opcode opcode_ = Opcode::Continuation;
  uint64_t remaining_ = 0;
  unsigned char mask_[4] = {};
  bool masked_ = false;
  uint64_t mask_pos_ = 0;
  std::string control_;  // a control frame's payload
  // The data message being reassembled.
  bool in_message_ = false;
  bool message_text_ = false;
  std::string message_;
  bool failed_ = false;
};

}  // namespace hearth::websocket
