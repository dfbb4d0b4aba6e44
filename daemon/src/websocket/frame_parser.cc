#include "websocket/frame_parser.h"

#include <algorithm>

#include "websocket/utf8.h"

namespace hearth::websocket {

bool valid_close_code(uint16_t code) {
  if (code >= 1000 && code <= 1003) return true;
  if (code >= 1007 && code <= 1011) return true;
  return code >= 3000 && code <= 4999;
}

namespace {

bool is_control(Opcode op) { return (static_cast<uint8_t>(op) & 0x8) != 0; }

bool known_opcode(uint8_t op) { return op <= 0x2 || (op >= 0x8 && op <= 0xA); }

// Header bytes needed once the first two are known.
std::size_t header_size(const unsigned char* h) {
  std::size_t n = 2;
  const unsigned len7 = h[1] & 0x7F;
  if (len7 == 126) n += 2;
  if (len7 == 127) n += 8;
  if (h[1] & 0x80) n += 4;
  return n;
}

}  // namespace

FrameParser::Event FrameParser::fail(uint16_t code) {
  failed_ = true;
  Event ev;
  ev.kind = Event::Kind::Error;
  ev.code = code;
  return ev;
}

std::optional<FrameParser::Event> FrameParser::next(std::string_view& data) {
  while (!failed_ && !data.empty()) {
    if (phase_ == Phase::Header) {
      std::size_t want = hdr_have_ < 2 ? 2 : header_size(hdr_);
      std::size_t take = std::min(want - hdr_have_, data.size());
      std::copy_n(data.data(), take, hdr_ + hdr_have_);
      hdr_have_ += take;
      data.remove_prefix(take);
      if (hdr_have_ < want) continue;
      if (want == 2 && header_size(hdr_) > 2) continue;  // now read the extended length and mask
      hdr_have_ = 0;
      if (auto ev = header_done()) return ev;
      continue;
    }
    std::size_t take = static_cast<std::size_t>(std::min<uint64_t>(remaining_, data.size()));
    std::string& dst = is_control(opcode_) ? control_ : message_;
    const std::size_t at = dst.size();
    dst.append(data.data(), take);
    if (masked_) {
      char* p = dst.data() + at;
      for (std::size_t i = 0; i < take; ++i) p[i] = static_cast<char>(p[i] ^ mask_[(mask_pos_ + i) & 3]);
      mask_pos_ += take;
    }
    data.remove_prefix(take);
    remaining_ -= take;
    if (remaining_ == 0) {
      phase_ = Phase::Header;
      if (auto ev = frame_done()) return ev;
    }
  }
  return std::nullopt;
}

std::optional<FrameParser::Event> FrameParser::header_done() {
  const unsigned char b0 = hdr_[0];
  const unsigned char b1 = hdr_[1];
  fin_ = (b0 & 0x80) != 0;
  if (b0 & 0x70) return fail(close_code::kProtocolError);  // RSV1-3 without a negotiated extension
  const uint8_t op = b0 & 0x0F;
  if (!known_opcode(op)) return fail(close_code::kProtocolError);
  opcode_ = static_cast<Opcode>(op);
  masked_ = (b1 & 0x80) != 0;
  if (options_.require_mask && !masked_) return fail(close_code::kProtocolError);
  uint64_t len = b1 & 0x7F;
  std::size_t pos = 2;
  if (len == 126) {
    len = (uint64_t{hdr_[2]} << 8) | hdr_[3];
    pos = 4;
  } else if (len == 127) {
    len = 0;
    for (int i = 0; i < 8; ++i) len = (len << 8) | hdr_[2 + i];
    pos = 10;
    if (len >> 63) return fail(close_code::kProtocolError);  // the most significant bit must be 0
  }
  if (masked_) std::copy_n(hdr_ + pos, 4, mask_);
  mask_pos_ = 0;
  remaining_ = len;
  if (is_control(opcode_)) {
    if (!fin_ || len > 125) return fail(close_code::kProtocolError);
    control_.clear();
  } else if (opcode_ == Opcode::Continuation) {
    if (!in_message_) return fail(close_code::kProtocolError);  // nothing to continue
  } else {
    if (in_message_) return fail(close_code::kProtocolError);  // a new message inside a fragmented one
    in_message_ = true;
    message_text_ = opcode_ == Opcode::Text;
    message_.clear();
  }
  if (!is_control(opcode_) && message_.size() + len > options_.max_message_size) {
    return fail(close_code::kTooBig);
  }
  if (len > 0) {
    phase_ = Phase::Payload;
    return std::nullopt;
  }
  return frame_done();
}

std::optional<FrameParser::Event> FrameParser::frame_done() {
  Event ev;
  switch (opcode_) {
    case Opcode::Ping:
      ev.kind = Event::Kind::Ping;
      ev.data = control_;
      return ev;
    case Opcode::Pong:
      ev.kind = Event::Kind::Pong;
      ev.data = control_;
      return ev;
    case Opcode::Close: {
      ev.kind = Event::Kind::Close;
      if (control_.empty()) {
        ev.code = close_code::kNoStatus;
        return ev;
      }
      if (control_.size() == 1) return fail(close_code::kProtocolError);
      const auto* p = reinterpret_cast<const unsigned char*>(control_.data());
      ev.code = static_cast<uint16_t>((p[0] << 8) | p[1]);
      if (!valid_close_code(ev.code)) return fail(close_code::kProtocolError);
      ev.data = std::string_view(control_).substr(2);
      if (!valid_utf8(ev.data)) return fail(close_code::kInvalidData);
      return ev;
    }
    default:
      break;
  }
  if (!fin_) return std::nullopt;  // more fragments to come
  in_message_ = false;
  if (message_text_ && !valid_utf8(message_)) return fail(close_code::kInvalidData);
  ev.kind = Event::Kind::Message;
  ev.text = message_text_;
  ev.data = message_;
  return ev;
}

}  // namespace hearth::websocket
