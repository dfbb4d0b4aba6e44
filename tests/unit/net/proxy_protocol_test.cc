#include "net/proxy_protocol.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hearth::net {
namespace {

std::vector<uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

ProxyParse parse(const std::vector<uint8_t>& b) { return parse_proxy_header(b); }
ProxyParse parse(std::string_view s) { return parse(bytes(s)); }

const std::vector<uint8_t> kSig = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

// A v2 header: signature, ver/cmd, family, length, then `body`.
std::vector<uint8_t> v2(uint8_t ver_cmd, uint8_t fam, const std::vector<uint8_t>& body) {
  std::vector<uint8_t> out = kSig;
  out.push_back(ver_cmd);
  out.push_back(fam);
  out.push_back(static_cast<uint8_t>(body.size() >> 8));
  out.push_back(static_cast<uint8_t>(body.size() & 0xFF));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

std::vector<uint8_t> inet4_body() {
  // 192.0.2.10:51000 -> 10.0.0.1:443
  return {192, 0, 2, 10, 10, 0, 0, 1, 0xC7, 0x38, 0x01, 0xBB};
}

TEST(ProxyProtocolV1, Tcp4) {
  std::string h = "PROXY TCP4 203.0.113.7 10.0.0.1 56324 443\r\n";
  auto p = parse(h + "GET / HTTP/1.1\r\n");
  ASSERT_EQ(p.status, ProxyParse::Status::Done) << p.error;
  EXPECT_EQ(p.length, h.size());
  EXPECT_EQ(p.header.version, 1);
  EXPECT_EQ(p.header.command, ProxyHeader::Command::Proxy);
  EXPECT_EQ(p.header.source_addr, "203.0.113.7");
  EXPECT_EQ(p.header.source_port, 56324);
  EXPECT_EQ(p.header.dest_addr, "10.0.0.1");
  EXPECT_EQ(p.header.dest_port, 443);
}

TEST(ProxyProtocolV1, Tcp6AndMapped) {
  auto p = parse("PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n");
  ASSERT_EQ(p.status, ProxyParse::Status::Done) << p.error;
  EXPECT_EQ(p.header.source_addr, "2001:db8::1");
  EXPECT_EQ(p.header.dest_port, 65535);
  auto m = parse("PROXY TCP6 ::ffff:198.51.100.4 ::1 1000 80\r\n");
  ASSERT_EQ(m.status, ProxyParse::Status::Done) << m.error;
  EXPECT_EQ(m.header.source_addr, "198.51.100.4");
}

TEST(ProxyProtocolV1, UnknownKeepsThePeer) {
  auto p = parse("PROXY UNKNOWN\r\n");
  ASSERT_EQ(p.status, ProxyParse::Status::Done) << p.error;
  EXPECT_EQ(p.length, 15u);
  EXPECT_EQ(p.header.command, ProxyHeader::Command::Local);
  auto q = parse("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n");
  EXPECT_EQ(q.status, ProxyParse::Status::Done) << q.error;
}

TEST(ProxyProtocolV1, NeedsMoreUntilCrlf) {
  std::string h = "PROXY TCP4 203.0.113.7 10.0.0.1 56324 443\r\n";
  for (std::size_t n = 0; n < h.size(); ++n) {
    auto p = parse(h.substr(0, n));
    EXPECT_EQ(p.status, ProxyParse::Status::NeedMore) << n << ": " << p.error;
  }
}

TEST(ProxyProtocolV1, SaysWhatIsWrong) {
  struct Case {
    const char* in;
    const char* why;
  } cases[] = {
      {"PROXY TCP4 203.0.113.7 10.0.0.1 56324 70000\r\n", "destination port '70000'"},
      {"PROXY TCP4 203.0.113.7 10.0.0.1 056324 443\r\n", "source port '056324'"},
      {"PROXY TCP4 2001:db8::1 10.0.0.1 1 2\r\n", "bad source address '2001:db8::1' for TCP4"},
      {"PROXY TCP6 2001:db8::1 10.0.0.1 1 2\r\n", "bad destination address '10.0.0.1' for TCP6"},
      {"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", "v1:"},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", "expected 'PROXY TCP4 SRC DST SPORT DPORT'"},
      {"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", "unknown protocol 'UDP4'"},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", "bare LF"},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX", "CR not followed by LF"},
      {"GET / HTTP/1.1\r\n", "no PROXY protocol header"},
      {"\x16\x03\x01\x02\x00\x01", "no PROXY protocol header (connection starts with '\\x16\\x03"},
  };
  for (const auto& c : cases) {
    auto p = parse(c.in);
    ASSERT_EQ(p.status, ProxyParse::Status::Invalid) << c.in;
    EXPECT_NE(p.error.find(c.why), std::string::npos) << c.in << " -> " << p.error;
  }
}

TEST(ProxyProtocolV1, LongerThan107BytesIsInvalid) {
  std::string h = "PROXY UNKNOWN " + std::string(100, 'x');
  auto p = parse(h);
  ASSERT_EQ(p.status, ProxyParse::Status::Invalid);
  EXPECT_NE(p.error.find("107"), std::string::npos);
  // Exactly 107 bytes with CRLF is the longest accepted; 108 is not (found by fuzz_proxy_protocol).
  std::string at_limit = "PROXY UNKNOWN " + std::string(107 - 14 - 2, 'x') + "\r\n";
  ASSERT_EQ(at_limit.size(), 107u);
  auto ok = parse(at_limit);
  ASSERT_EQ(ok.status, ProxyParse::Status::Done) << ok.error;
  EXPECT_EQ(ok.length, 107u);
  std::string over = "PROXY UNKNOWN " + std::string(107 - 14 - 1, 'x') + "\r\n";
  ASSERT_EQ(over.size(), 108u);
  EXPECT_EQ(parse(over).status, ProxyParse::Status::Invalid);
  EXPECT_EQ(parse(over.substr(0, 106)).status, ProxyParse::Status::Invalid);  // no CR by index 105
  EXPECT_EQ(parse(over.substr(0, 105)).status, ProxyParse::Status::NeedMore);
}

TEST(ProxyProtocolV2, Inet4) {
  auto h = v2(0x21, 0x11, inet4_body());
  auto tail = h;
  tail.push_back(0x16);  // a TLS ClientHello follows
  auto p = parse(tail);
  ASSERT_EQ(p.status, ProxyParse::Status::Done) << p.error;
  EXPECT_EQ(p.length, 28u);
  EXPECT_EQ(p.header.version, 2);
  EXPECT_EQ(p.header.command, ProxyHeader::Command::Proxy);
  EXPECT_EQ(p.header.source_addr, "192.0.2.10");
  EXPECT_EQ(p.header.source_port, 51000);
  EXPECT_EQ(p.header.dest_addr, "10.0.0.1");
  EXPECT_EQ(p.header.dest_port, 443);
}

TEST(ProxyProtocolV2, Inet6) {
  std::vector<uint8_t> body(36, 0);
  body[0] = 0x20;
  body[1] = 0x01;
  body[2] = 0x0d;
  body[3] = 0xb8;
  body[15] = 0x07;  // 2001:db8::7
  body[31] = 0x01;  // ::1
  body[32] = 0x12;
  body[33] = 0x34;
  body[34] = 0x00;
  body[35] = 0x50;
  auto p = parse(v2(0x21, 0x21, body));
  ASSERT_EQ(p.status, ProxyParse::Status::Done) << p.error;
  EXPECT_EQ(p.header.source_addr, "2001:db8::7");
  EXPECT_EQ(p.header.source_port, 0x1234);
  EXPECT_EQ(p.header.dest_addr, "::1");
  EXPECT_EQ(p.header.dest_port, 80);
}

TEST(ProxyProtocolV2, TlvsAreSkipped) {
  auto body = inet4_body();
  // PP2_TYPE_AUTHORITY "example.com", an AWS-style custom TLV, PP2_TYPE_NOOP with 0 bytes.
  std::string host = "example.com";
  body.insert(body.end(), {0x02, 0x00, static_cast<uint8_t>(host.size())});
  body.insert(body.end(), host.begin(), host.end());
  body.insert(body.end(), {0xEA, 0x00, 0x05, 0x01, 'v', 'p', 'c', 'e'});
  body.insert(body.end(), {0x04, 0x00, 0x00});
  auto h = v2(0x21, 0x11, body);
  auto p = parse(h);
  ASSERT_EQ(p.status, ProxyParse::Status::Done) << p.error;
  EXPECT_EQ(p.length, h.size());
  EXPECT_EQ(p.header.source_addr, "192.0.2.10");
}

TEST(ProxyProtocolV2, TruncatedTlvIsInvalid) {
  auto body = inet4_body();
  body.insert(body.end(), {0x02, 0x00, 0x09, 'a', 'b'});  // says 9 bytes, has 2
  auto p = parse(v2(0x21, 0x11, body));
  ASSERT_EQ(p.status, ProxyParse::Status::Invalid);
  EXPECT_NE(p.error.find("runs past the header"), std::string::npos) << p.error;
  auto body2 = inet4_body();
  body2.insert(body2.end(), {0x02, 0x00});  // not even a TLV header
  auto q = parse(v2(0x21, 0x11, body2));
  ASSERT_EQ(q.status, ProxyParse::Status::Invalid);
  EXPECT_NE(q.error.find("truncated TLV"), std::string::npos) << q.error;
}

TEST(ProxyProtocolV2, LocalKeepsThePeer) {
  auto p = parse(v2(0x20, 0x00, {}));
  ASSERT_EQ(p.status, ProxyParse::Status::Done) << p.error;
  EXPECT_EQ(p.length, 16u);
  EXPECT_EQ(p.header.command, ProxyHeader::Command::Local);
  // LOCAL with an address block: ignored, but its bytes are part of the header.
  auto q = parse(v2(0x20, 0x11, inet4_body()));
  ASSERT_EQ(q.status, ProxyParse::Status::Done) << q.error;
  EXPECT_EQ(q.length, 28u);
  EXPECT_EQ(q.header.command, ProxyHeader::Command::Local);
  // PROXY over AF_UNSPEC and AF_UNIX: no IP address to use.
  auto u = parse(v2(0x21, 0x00, {}));
  ASSERT_EQ(u.status, ProxyParse::Status::Done) << u.error;
  EXPECT_EQ(u.header.command, ProxyHeader::Command::Local);
  auto x = parse(v2(0x21, 0x31, std::vector<uint8_t>(216, 0)));
  ASSERT_EQ(x.status, ProxyParse::Status::Done) << x.error;
  EXPECT_EQ(x.header.command, ProxyHeader::Command::Local);
}

TEST(ProxyProtocolV2, NeedsMoreForEveryPrefix) {
  auto body = inet4_body();
  body.insert(body.end(), {0x04, 0x00, 0x02, 0, 0});
  auto h = v2(0x21, 0x11, body);
  for (std::size_t n = 0; n < h.size(); ++n) {
    auto p = parse(std::vector<uint8_t>(h.begin(), h.begin() + static_cast<std::ptrdiff_t>(n)));
    EXPECT_EQ(p.status, ProxyParse::Status::NeedMore) << n << ": " << p.error;
  }
}

TEST(ProxyProtocolV2, SaysWhatIsWrong) {
  struct Case {
    std::vector<uint8_t> in;
    const char* why;
  } cases[] = {
      {v2(0x11, 0x11, inet4_body()), "version 1 (expected 2)"},
      {v2(0x22, 0x11, inet4_body()), "unknown command 2"},
      {v2(0x21, 0x41, inet4_body()), "unknown address family 4"},
      {v2(0x21, 0x13, inet4_body()), "unknown transport 3"},
      {v2(0x21, 0x12, inet4_body()), "non-stream transport"},
      {v2(0x21, 0x11, {1, 2, 3, 4}), "address block of 4 bytes, family needs 12"},
      {v2(0x21, 0x21, inet4_body()), "family needs 36"},
  };
  for (const auto& c : cases) {
    auto p = parse(c.in);
    ASSERT_EQ(p.status, ProxyParse::Status::Invalid) << c.why;
    EXPECT_NE(p.error.find(c.why), std::string::npos) << p.error;
  }
}

TEST(ProxyProtocolV2, OversizedHeaderIsRefusedBeforeItArrives) {
  // Only the fixed part: the declared length alone is enough to refuse.
  auto h = v2(0x21, 0x11, {});
  h[14] = 0xFF;
  h[15] = 0xFF;
  auto p = parse(h);
  ASSERT_EQ(p.status, ProxyParse::Status::Invalid);
  EXPECT_NE(p.error.find("limit 4096"), std::string::npos) << p.error;
}

TEST(ProxyProtocol, GarbageAfterPartialSignatureIsInvalid) {
  auto p = parse(std::vector<uint8_t>{0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0B});
  EXPECT_EQ(p.status, ProxyParse::Status::Invalid);
  EXPECT_EQ(parse("PROXZ").status, ProxyParse::Status::Invalid);
  EXPECT_EQ(parse("PROX").status, ProxyParse::Status::NeedMore);
  EXPECT_EQ(parse("").status, ProxyParse::Status::NeedMore);
}

}  // namespace
}  // namespace hearth::net
