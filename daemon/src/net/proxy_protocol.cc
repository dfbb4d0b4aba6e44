#include "net/proxy_protocol.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <string_view>

namespace hearth::net {
namespace {

constexpr std::array<uint8_t, 12> kV2Signature = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                  0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr std::string_view kV1Prefix = "PROXY ";

ProxyParse invalid(std::string why) {
  ProxyParse p;
  p.status = ProxyParse::Status::Invalid;
  p.error = std::move(why);
  return p;
}

ProxyParse need_more() { return ProxyParse{}; }

// A printable rendering of a short token for messages.
std::string show(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 48)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      out += c;
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  if (s.size() > 48) out += "...";
  return out;
}

std::string ip4_text(const uint8_t* p) {
  char buf[INET_ADDRSTRLEN];
  ::inet_ntop(AF_INET, p, buf, sizeof buf);
  return buf;
}

std::string ip6_text(const uint8_t* p) {
  // An IPv4-mapped address (::ffff:a.b.c.d) is shown as a.b.c.d, as the
  // connections show a dual-stack listener's IPv4 clients.
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(p, kMapped, 12) == 0) return ip4_text(p + 12);
  char buf[INET6_ADDRSTRLEN];
  ::inet_ntop(AF_INET6, p, buf, sizeof buf);
  return buf;
}

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

// "0".."65535", decimal, no sign, no leading zeros (the spec's form).
std::optional<uint16_t> v1_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  if (s.size() > 1 && s[0] == '0') return std::nullopt;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v > 65535) return std::nullopt;
  return static_cast<uint16_t>(v);
}

// One v1 address of the given family, re-rendered canonically.
std::optional<std::string> v1_addr(std::string_view s, bool v6) {
  if (s.empty() || s.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  uint8_t bin[16];
  if (::inet_pton(v6 ? AF_INET6 : AF_INET, buf, bin) != 1) return std::nullopt;
  return v6 ? ip6_text(bin) : ip4_text(bin);
}

ProxyParse parse_v1(std::string_view text) {
  // text starts with "PROXY ". Find the CRLF within the first 107 bytes: the
  // CR at index 105 at the latest.
  std::size_t limit = std::min(text.size(), kProxyV1MaxLength - 1);
  std::size_t cr = std::string_view::npos;
  for (std::size_t i = 0; i < limit; ++i) {
    if (text[i] == '\r') {
      cr = i;
      break;
    }
    if (text[i] == '\n') return invalid("v1: bare LF in the header");
  }
  if (cr == std::string_view::npos) {
    if (text.size() >= kProxyV1MaxLength - 1) return invalid("v1: no CRLF within 107 bytes");
    return need_more();
  }
  if (cr + 1 >= text.size()) return need_more();
  if (text[cr + 1] != '\n') return invalid("v1: CR not followed by LF");
  std::string_view line = text.substr(kV1Prefix.size(), cr - kV1Prefix.size());

  // Split on single spaces.
  std::array<std::string_view, 6> f;
  std::size_t n = 0;
  while (true) {
    std::size_t sp = line.find(' ');
    std::string_view tok = line.substr(0, sp);
    if (n == f.size()) return invalid("v1: too many fields");
    f[n++] = tok;
    if (sp == std::string_view::npos) break;
    line.remove_prefix(sp + 1);
  }

  ProxyParse p;
  p.status = ProxyParse::Status::Done;
  p.length = cr + 2;
  p.header.version = 1;
  if (f[0] == "UNKNOWN") {
    // The sender could not tell; the rest of the line is to be ignored.
    p.header.command = ProxyHeader::Command::Local;
    return p;
  }
  bool v6;
  if (f[0] == "TCP4") {
    v6 = false;
  } else if (f[0] == "TCP6") {
    v6 = true;
  } else {
    return invalid("v1: unknown protocol '" + show(f[0]) + "' (expected TCP4, TCP6 or UNKNOWN)");
  }
  if (n != 5) return invalid("v1: expected 'PROXY " + std::string(f[0]) + " SRC DST SPORT DPORT'");
  for (std::size_t i = 1; i < 5; ++i) {
    if (f[i].empty()) return invalid("v1: empty field (two spaces in a row?)");
  }
  auto src = v1_addr(f[1], v6);
  if (!src) return invalid("v1: bad source address '" + show(f[1]) + "' for " + std::string(f[0]));
  auto dst = v1_addr(f[2], v6);
  if (!dst) return invalid("v1: bad destination address '" + show(f[2]) + "' for " + std::string(f[0]));
  auto sport = v1_port(f[3]);
  if (!sport) return invalid("v1: bad source port '" + show(f[3]) + "'");
  auto dport = v1_port(f[4]);
  if (!dport) return invalid("v1: bad destination port '" + show(f[4]) + "'");
  p.header.command = ProxyHeader::Command::Proxy;
  p.header.source_addr = std::move(*src);
  p.header.dest_addr = std::move(*dst);
  p.header.source_port = *sport;
  p.header.dest_port = *dport;
  return p;
}

// TLVs: type (1), length (2, big-endian), value. All are skipped; each must
// fit in the header (a TLV running past its end is malformed).
std::optional<std::string> check_tlvs(const uint8_t* p, std::size_t n) {
  std::size_t i = 0;
  while (i < n) {
    if (n - i < 3) return "v2: truncated TLV at offset " + std::to_string(i);
    std::size_t len = be16(p + i + 1);
    if (len > n - i - 3)
      return "v2: TLV type " + std::to_string(p[i]) + " of " + std::to_string(len) + " bytes runs past the header";
    i += 3 + len;
  }
  return std::nullopt;
}

ProxyParse parse_v2(std::span<const uint8_t> d) {
  if (d.size() < kProxyV2FixedLength) return need_more();
  const uint8_t ver_cmd = d[12];
  const uint8_t fam = d[13];
  const std::size_t len = be16(&d[14]);
  if ((ver_cmd >> 4) != 2) return invalid("v2: version " + std::to_string(ver_cmd >> 4) + " (expected 2)");
  const uint8_t cmd = ver_cmd & 0x0F;
  if (cmd > 1) return invalid("v2: unknown command " + std::to_string(cmd));
  if (kProxyV2FixedLength + len > kProxyV2MaxLength)
    return invalid("v2: header of " + std::to_string(kProxyV2FixedLength + len) + " bytes (limit " +
                   std::to_string(kProxyV2MaxLength) + ")");
  const uint8_t af = fam >> 4;
  const uint8_t transport = fam & 0x0F;
  if (af > 3) return invalid("v2: unknown address family " + std::to_string(af));
  if (transport > 2) return invalid("v2: unknown transport " + std::to_string(transport));
  if (d.size() < kProxyV2FixedLength + len) return need_more();

  const uint8_t* body = d.data() + kProxyV2FixedLength;
  ProxyParse p;
  p.status = ProxyParse::Status::Done;
  p.length = kProxyV2FixedLength + len;
  p.header.version = 2;
  p.header.command = ProxyHeader::Command::Local;
  if (cmd == 0) return p;  // LOCAL: the address block (if any) is to be ignored

  std::size_t addr_len = 0;
  switch (af) {
    case 0:  // AF_UNSPEC: no addresses; the receiver uses the real connection's
      return p;
    case 1:
      addr_len = 12;
      break;
    case 2:
      addr_len = 36;
      break;
    case 3:
      addr_len = 216;
      break;
  }
  if (transport != 1) return invalid("v2: PROXY over a non-stream transport (" + std::to_string(transport) + ")");
  if (len < addr_len)
    return invalid("v2: address block of " + std::to_string(len) + " bytes, family needs " +
                   std::to_string(addr_len));
  if (auto e = check_tlvs(body + addr_len, len - addr_len)) return invalid(*e);
  if (af == 1) {
    p.header.command = ProxyHeader::Command::Proxy;
    p.header.source_addr = ip4_text(body);
    p.header.dest_addr = ip4_text(body + 4);
    p.header.source_port = be16(body + 8);
    p.header.dest_port = be16(body + 10);
  } else if (af == 2) {
    p.header.command = ProxyHeader::Command::Proxy;
    p.header.source_addr = ip6_text(body);
    p.header.dest_addr = ip6_text(body + 16);
    p.header.source_port = be16(body + 32);
    p.header.dest_port = be16(body + 34);
  }
  // AF_UNIX: the client has no IP address; keep the connection's own.
  return p;
}

}  // namespace

ProxyParse parse_proxy_header(std::span<const uint8_t> data) {
  if (data.empty()) return need_more();
  // Which version: compare what we have against both openings.
  std::size_t n2 = std::min(data.size(), kV2Signature.size());
  if (std::equal(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n2), kV2Signature.begin())) {
    return n2 < kV2Signature.size() ? need_more() : parse_v2(data);
  }
  std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
  std::size_t n1 = std::min(text.size(), kV1Prefix.size());
  if (text.substr(0, n1) == kV1Prefix.substr(0, n1)) {
    return n1 < kV1Prefix.size() ? need_more() : parse_v1(text);
  }
  return invalid("no PROXY protocol header (connection starts with '" + show(text.substr(0, 16)) + "')");
}

}  // namespace hearth::net
