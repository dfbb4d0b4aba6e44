#include "websocket/handshake.h"

#include "common/ascii.h"
#include "websocket/sha1.h"

namespace hearth::websocket {

namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// Calls f(token) for each comma-separated element of a header list.
template <class F>
void for_each_token(std::string_view list, F&& f) {
  while (!list.empty()) {
    std::size_t c = list.find(',');
    std::string_view t = ascii::trim_ows(list.substr(0, c));
    if (!t.empty()) f(t);
    if (c == std::string_view::npos) break;
    list.remove_prefix(c + 1);
  }
}

bool has_token(const http::Request& req, std::string_view name, std::string_view token) {
  bool found = false;
  for (const auto& h : req.headers) {
    if (!ascii::iequals(h.name, name)) continue;
    for_each_token(h.value, [&](std::string_view t) { found = found || ascii::iequals(t, token); });
  }
  return found;
}

// The decoded length of a base64 string, or -1 when it is not canonical base64.
int base64_decoded_size(std::string_view s) {
  if (s.empty() || s.size() % 4 != 0) return -1;
  std::size_t pad = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
    if (c == '=') {
      if (i < s.size() - 2) return -1;
      ++pad;
    } else if (!alnum || pad > 0) {
      return -1;
    }
  }
  return static_cast<int>(s.size() / 4 * 3 - pad);
}

}  // namespace

Handshake check_handshake(const http::Request& req) {
  Handshake hs;
  if (!has_token(req, "upgrade", "websocket")) return hs;
  hs.verdict = Handshake::Verdict::BadRequest;
  if (req.method != "GET") {
    hs.error = "a WebSocket handshake must be a GET request";
    return hs;
  }
  if (req.version != 11) {
    hs.error = "a WebSocket handshake must be HTTP/1.1";
    return hs;
  }
  if (!has_token(req, "connection", "upgrade")) {
    hs.error = "a WebSocket handshake needs Connection: upgrade";
    return hs;
  }
  const std::string* key = nullptr;
  const std::string* version = nullptr;
  int keys = 0;
  for (const auto& h : req.headers) {
    if (ascii::iequals(h.name, "sec-websocket-key")) {
      key = &h.value;
      ++keys;
    } else if (ascii::iequals(h.name, "sec-websocket-version")) {
      version = &h.value;
    } else if (ascii::iequals(h.name, "sec-websocket-protocol")) {
      for_each_token(h.value, [&](std::string_view t) { hs.subprotocols.emplace_back(t); });
    }
  }
  if (version == nullptr || ascii::trim_ows(*version) != "13") {
    hs.verdict = Handshake::Verdict::BadVersion;
    hs.error = "unsupported Sec-WebSocket-Version (this server speaks 13)";
    return hs;
  }
  if (keys != 1 || base64_decoded_size(ascii::trim_ows(*key)) != 16) {
    hs.error = "Sec-WebSocket-Key must be 16 bytes in base64";
    return hs;
  }
  hs.key = std::string(ascii::trim_ows(*key));
  hs.verdict = Handshake::Verdict::Ok;
  return hs;
}

std::string accept_key(std::string_view key) {
  std::string in(key);
  in.append(kGuid);
  const Sha1Digest digest = sha1(in);
  return base64_encode(digest.data(), digest.size());
}

std::string switching_protocols_head(std::string_view key, std::string_view subprotocol,
                                     const std::vector<http::Header>& extra) {
  std::string head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
  head += "Sec-WebSocket-Accept: ";
  head += accept_key(key);
  head += "\r\n";
  if (!subprotocol.empty()) {
    head += "Sec-WebSocket-Protocol: ";
    head += subprotocol;
    head += "\r\n";
  }
  for (const auto& h : extra) {
    head += h.name;
    head += ": ";
    head += h.value;
    head += "\r\n";
  }
  head += "\r\n";
  return head;
}

}  // namespace hearth::websocket
