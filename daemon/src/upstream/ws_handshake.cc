#include "upstream/ws_handshake.h"

#include "common/ascii.h"
#include "http/hop_by_hop.h"
#include "websocket/frame_parser.h"

namespace hearth::upstream {
namespace {

bool is_sec_websocket(std::string_view name) {
  return name.size() >= 14 && ascii::iequals(name.substr(0, 14), "sec-websocket-");
}

}  // namespace

WsUpstreamHandshake ws_upstream_handshake(const http::Request& req, const HeadOptions& o) {
  WsUpstreamHandshake out;
  visit_forwarded_fields(req, o, [&out](std::string_view name, std::string_view value) {
    if (ascii::iequals(name, "host")) {
      out.host = value;
      return;
    }
    if (is_sec_websocket(name) && !ascii::iequals(name, "sec-websocket-protocol")) return;
    out.fields.push_back(http::Header{std::string(name), std::string(value)});
  });
  return out;
}

std::vector<http::Header> ws_relayed_accept_fields(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::vector<http::Header> out;
  for (const auto& [name, value] : fields) {
    if (http::is_hop_by_hop(name) || is_sec_websocket(name) || ascii::iequals(name, "content-length") ||
        ascii::iequals(name, "date") || ascii::iequals(name, "server"))
      continue;
    out.push_back(http::Header{name, value});
  }
  return out;
}

uint16_t ws_upstream_close_code(uint16_t client_code) {
  if (client_code == websocket::close_code::kNoStatus) return 0;
  if (websocket::valid_close_code(client_code)) return client_code;
  return websocket::close_code::kGoingAway;
}

}  // namespace hearth::upstream
