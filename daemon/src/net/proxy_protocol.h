#pragma once
// The PROXY protocol header (HAProxy's spec, v1 text and v2 binary) that a
// load balancer sends first on a connection to say which client it speaks
// for. A pure parser: no sockets, no allocation beyond the result's strings.
//
// The parser is fed the bytes received so far and says whether they are a
// complete header (and how many bytes it took), need more, or are not a valid
// header (and why). Everything it has seen while it says NeedMore belongs to
// the header, so a reader may consume those bytes from the socket and never
// takes a byte that follows the header (a TLS ClientHello, a request line).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace hearth::net {

struct ProxyHeader {
  // What the header says about the connection.
  enum class Command {
    Proxy,  // relayed for a client: source_* is that client
    Local,  // the balancer's own connection (v2 LOCAL, v1 UNKNOWN, or an address family
            // without IP addresses): keep the TCP peer's address
  };
  int version = 0;  // 1 or 2
  Command command = Command::Local;
  std::string source_addr;  // "203.0.113.7", "2001:db8::1" (IPv4-mapped IPv6 is shown as IPv4)
  uint16_t source_port = 0;
  std::string dest_addr;
  uint16_t dest_port = 0;
};

struct ProxyParse {
  enum class Status {
    NeedMore,  // a valid prefix of a header: read more (all bytes seen so far are header bytes)
    Done,      // a complete header of `length` bytes
    Invalid,   // not a PROXY header, or a malformed one: `error` says what was wrong
  };
  Status status = Status::NeedMore;
  std::size_t length = 0;  // Done: bytes the header took
  ProxyHeader header;      // Done only
  std::string error;       // Invalid only: "v1: source port '70000' out of range"
};

// v1 headers are at most 107 bytes including CRLF (the spec's bound).
inline constexpr std::size_t kProxyV1MaxLength = 107;
// The v2 fixed part: 12-byte signature, version/command, family, length.
inline constexpr std::size_t kProxyV2FixedLength = 16;
// A v2 header whose address block + TLVs exceed this is refused: balancers
// send well under 1 KiB (addresses plus a few TLVs), and this bounds the
// memory an unauthenticated connection can make us hold.
inline constexpr std::size_t kProxyV2MaxLength = 4096;

[[nodiscard]] ProxyParse parse_proxy_header(std::span<const uint8_t> data);

}  // namespace hearth::net
