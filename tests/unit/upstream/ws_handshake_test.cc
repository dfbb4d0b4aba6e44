// What goes into a WebSocket handshake to an upstream, what of its 101 comes
// back to the client, the close codes across, and Backend::close_tunnels().
#include "upstream/ws_handshake.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "upstream/backend.h"

namespace hearth::upstream {
namespace {

std::string field(const std::vector<http::Header>& fields, std::string_view name) {
  for (const auto& f : fields) {
    if (f.name == name) return f.value;
  }
  return "<none>";
}

http::Request handshake() {
  http::Request r;
  r.method = "GET";
  r.target = "/ws/chat?room=1";
  r.peer_addr = "10.0.0.7";
  r.headers = {{"Host", "example.com"},
               {"Upgrade", "websocket"},
               {"Connection", "Upgrade"},
               {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
               {"Sec-WebSocket-Version", "13"},
               {"Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"},
               {"Sec-WebSocket-Protocol", "chat, superchat"},
               {"Origin", "https://example.com"},
               {"Cookie", "session=abc"},
               {"Authorization", "Bearer t"},
               {"User-Agent", "ua/1"},
               {"X-Forwarded-For", "1.2.3.4"}};
  return r;
}

TEST(WsUpstreamHandshake, HostAndEndToEndFieldsGoThrough) {
  HeadOptions o;
  o.default_host = "127.0.0.1:3000";
  o.request_id = "rid-1";
  WsUpstreamHandshake hs = ws_upstream_handshake(handshake(), o);
  EXPECT_EQ(hs.host, "example.com");
  EXPECT_EQ(field(hs.fields, "Origin"), "https://example.com");
  EXPECT_EQ(field(hs.fields, "Cookie"), "session=abc");
  EXPECT_EQ(field(hs.fields, "Authorization"), "Bearer t");
  EXPECT_EQ(field(hs.fields, "User-Agent"), "ua/1");
  EXPECT_EQ(field(hs.fields, "Sec-WebSocket-Protocol"), "chat, superchat");
  EXPECT_EQ(field(hs.fields, "X-Forwarded-For"), "1.2.3.4, 10.0.0.7");
  EXPECT_EQ(field(hs.fields, "X-Forwarded-Proto"), "http");
  EXPECT_EQ(field(hs.fields, "X-Forwarded-Host"), "example.com");
  EXPECT_EQ(field(hs.fields, "X-Request-ID"), "rid-1");
}

TEST(WsUpstreamHandshake, TheClientsOwnHandshakeFieldsStayBehind) {
  WsUpstreamHandshake hs = ws_upstream_handshake(handshake(), HeadOptions{});
  for (const char* name : {"Host", "Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version",
                           "Sec-WebSocket-Extensions", "Content-Length"}) {
    EXPECT_EQ(field(hs.fields, name), "<none>") << name;
  }
}

TEST(WsUpstreamHandshake, NoHostFromTheClientIsTheServersAddress) {
  http::Request r = handshake();
  r.headers.erase(r.headers.begin());
  HeadOptions o;
  o.default_host = "127.0.0.1:3000";
  WsUpstreamHandshake hs = ws_upstream_handshake(r, o);
  EXPECT_EQ(hs.host, "127.0.0.1:3000");
  EXPECT_EQ(field(hs.fields, "X-Forwarded-Host"), "<none>");
}

TEST(WsRelayedAcceptFields, OnlyWhatDescribesTheResponse) {
  std::vector<std::pair<std::string, std::string>> got = {
      {"Upgrade", "websocket"},        {"Connection", "Upgrade"},       {"Sec-WebSocket-Accept", "x"},
      {"Sec-WebSocket-Protocol", "chat"}, {"Sec-WebSocket-Extensions", "y"}, {"Set-Cookie", "up=1"},
      {"Date", "now"},                 {"Server", "node"},              {"Content-Length", "0"},
      {"X-Custom", "v"}};
  auto out = ws_relayed_accept_fields(got);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].name, "Set-Cookie");
  EXPECT_EQ(out[0].value, "up=1");
  EXPECT_EQ(out[1].name, "X-Custom");
}

TEST(WsUpstreamCloseCode, SendableCodesPassAsIs) {
  for (uint16_t c : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4001, 4999})
    EXPECT_EQ(ws_upstream_close_code(c), c) << c;
}

TEST(WsUpstreamCloseCode, NoCodeIsAnEmptyCloseAndTheRestGoingAway) {
  EXPECT_EQ(ws_upstream_close_code(1005), 0);
  EXPECT_EQ(ws_upstream_close_code(1006), 1001);  // the client just left
  EXPECT_EQ(ws_upstream_close_code(1015), 1001);
  EXPECT_EQ(ws_upstream_close_code(1004), 1001);
  EXPECT_EQ(ws_upstream_close_code(999), 1001);
  EXPECT_EQ(ws_upstream_close_code(5000), 1001);
}

struct FakeTunnel final : TunnelToBackend {
  Backend* backend = nullptr;
  int told = 0;
  void go_away() override {
    ++told;
    backend->remove_tunnel(this);  // as a tunnel that ends at once does
  }
};

TEST(BackendTunnels, CloseTunnelsTellsEachOnceAndToleratesRemoval) {
  Backend b({Server{}}, ServerSet::Params{});  // one server: a ServerSet holds 1..64
  FakeTunnel t1, t2;
  t1.backend = t2.backend = &b;
  b.add_tunnel(&t1);
  b.add_tunnel(&t2);
  EXPECT_EQ(b.tunnels(), 2u);
  b.close_tunnels();
  EXPECT_EQ(t1.told, 1);
  EXPECT_EQ(t2.told, 1);
  EXPECT_EQ(b.tunnels(), 0u);
  b.close_tunnels();
  EXPECT_EQ(t1.told, 1);
}

}  // namespace
}  // namespace hearth::upstream
