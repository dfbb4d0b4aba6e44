// libFuzzer target: the PROXY protocol header parser (net/proxy_protocol.h),
// v1 and v2. Checks per input:
//  1. Done: 0 < length <= input size; v1 at most 107 bytes, v2 exactly 16 +
//     the declared length and at most kProxyV2MaxLength; a Proxy command has a
//     source address that parses back as an IP and no address otherwise.
//  2. Invalid: a non-empty error message.
//  3. Prefix consistency (what the socket reader relies on to never take a
//     byte after the header): every shorter prefix of a Done header says
//     NeedMore, and every prefix of an input that ends NeedMore says NeedMore.
//     Appending bytes after a Done header changes nothing.
#include <arpa/inet.h>

#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "net/proxy_protocol.h"

namespace {

using hearth::net::ProxyHeader;
using hearth::net::ProxyParse;
using hearth::net::parse_proxy_header;

void check(bool ok) {
  if (!ok) std::abort();
}

bool is_ip(const std::string& s) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  ProxyParse p = parse_proxy_header(in);
  switch (p.status) {
    case ProxyParse::Status::Done: {
      check(p.length > 0 && p.length <= size);
      check(p.header.version == 1 || p.header.version == 2);
      if (p.header.version == 1) {
        check(p.length <= hearth::net::kProxyV1MaxLength);
        check(data[p.length - 2] == '\r' && data[p.length - 1] == '\n');
      } else {
        check(p.length >= hearth::net::kProxyV2FixedLength && p.length <= hearth::net::kProxyV2MaxLength);
        check(p.length == hearth::net::kProxyV2FixedLength + ((size_t(data[14]) << 8) | data[15]));
      }
      if (p.header.command == ProxyHeader::Command::Proxy) {
        check(is_ip(p.header.source_addr) && is_ip(p.header.dest_addr));
      } else {
        check(p.header.source_addr.empty());
      }
      check(p.error.empty());
      // The header alone parses the same; each shorter prefix needs more.
      ProxyParse exact = parse_proxy_header(in.first(p.length));
      check(exact.status == ProxyParse::Status::Done && exact.length == p.length &&
            exact.header.source_addr == p.header.source_addr && exact.header.source_port == p.header.source_port);
      for (size_t n = 0; n < p.length; ++n) {
        check(parse_proxy_header(in.first(n)).status == ProxyParse::Status::NeedMore);
      }
      break;
    }
    case ProxyParse::Status::Invalid:
      check(!p.error.empty());
      break;
    case ProxyParse::Status::NeedMore:
      check(size < hearth::net::kProxyV2MaxLength);
      for (size_t n = 0; n < size; ++n) {
        check(parse_proxy_header(in.first(n)).status == ProxyParse::Status::NeedMore);
      }
      break;
  }
  return 0;
}
