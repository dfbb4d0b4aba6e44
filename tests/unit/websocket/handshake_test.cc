#include "websocket/handshake.h"

#include <gtest/gtest.h>

namespace hearth::websocket {
namespace {

http::Request upgrade_request() {
  http::Request r;
  r.method = "GET";
  r.target = "/ws";
  r.version = 11;
  r.headers = {{"Host", "x"},
               {"Upgrade", "websocket"},
               {"Connection", "keep-alive, Upgrade"},
               {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
               {"Sec-WebSocket-Version", "13"},
               {"Sec-WebSocket-Protocol", "chat, superchat"}};
  return r;
}

TEST(WsHandshake, AcceptKeyFromTheRfc) {
  EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WsHandshake, ValidRequest) {
  auto hs = check_handshake(upgrade_request());
  ASSERT_EQ(hs.verdict, Handshake::Verdict::Ok) << hs.error;
  EXPECT_EQ(hs.key, "dGhlIHNhbXBsZSBub25jZQ==");
  ASSERT_EQ(hs.subprotocols.size(), 2u);
  EXPECT_EQ(hs.subprotocols[1], "superchat");
}

TEST(WsHandshake, OrdinaryRequestsAreNotWebSockets) {
  http::Request r;
  r.method = "GET";
  r.headers = {{"Host", "x"}, {"Upgrade", "h2c"}, {"Connection", "Upgrade"}};
  EXPECT_EQ(check_handshake(r).verdict, Handshake::Verdict::NotWebSocket);
}

TEST(WsHandshake, Malformed) {
  auto r = upgrade_request();
  r.method = "POST";
  EXPECT_EQ(check_handshake(r).verdict, Handshake::Verdict::BadRequest);
  r = upgrade_request();
  r.version = 10;
  EXPECT_EQ(check_handshake(r).verdict, Handshake::Verdict::BadRequest);
  r = upgrade_request();
  r.headers[2].value = "keep-alive";
  EXPECT_EQ(check_handshake(r).verdict, Handshake::Verdict::BadRequest);
  for (const char* key : {"", "abc", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZQ=!", "dGhlIHNhbXBsZSBub25jZXg="}) {
    r = upgrade_request();
    r.headers[3].value = key;
    EXPECT_EQ(check_handshake(r).verdict, Handshake::Verdict::BadRequest) << key;
  }
  r = upgrade_request();
  r.headers.push_back({"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="});
  EXPECT_EQ(check_handshake(r).verdict, Handshake::Verdict::BadRequest);
}

TEST(WsHandshake, BadVersion) {
  auto r = upgrade_request();
  r.headers[4].value = "8";
  EXPECT_EQ(check_handshake(r).verdict, Handshake::Verdict::BadVersion);
  r.headers.erase(r.headers.begin() + 4);
  EXPECT_EQ(check_handshake(r).verdict, Handshake::Verdict::BadVersion);
}

TEST(WsHandshake, SwitchingProtocolsHead) {
  std::string head = switching_protocols_head("dGhlIHNhbXBsZSBub25jZQ==", "chat", {{"X-A", "1"}});
  EXPECT_EQ(head,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\nX-A: 1\r\n\r\n");
}

}  // namespace
}  // namespace hearth::websocket
