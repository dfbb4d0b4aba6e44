#include "config/bind.h"

#include <arpa/inet.h>

#include <cctype>

#include "config/units.h"
#include "common/ascii.h"

namespace hearth::config {
namespace {

bool is_ipv4(const std::string& s) {
  in_addr a;
  return inet_pton(AF_INET, s.c_str(), &a) == 1;
}
bool is_ipv6(const std::string& s) {
  in6_addr a;
  return inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

std::optional<uint16_t> parse_port(std::string_view s) {
  auto v = parse_uint(s, 65535);
  if (!v || s.size() > 5) return std::nullopt;
  return static_cast<uint16_t>(*v);
}

// sun_path is 108 bytes including the terminating NUL.
constexpr size_t kMaxUnixPath = 107;

}  // namespace

std::optional<Bind> parse_bind(std::string_view text) {
  if (text.empty()) return std::nullopt;
  Bind b;
  b.text = std::string(text);
  if (text.substr(0, 5) == "unix:") {
    std::string_view path = text.substr(5);
    if (path.empty() || path.size() > kMaxUnixPath || path.find('\0') != std::string_view::npos) {
      return std::nullopt;
    }
    b.kind = Bind::Kind::Unix;
    b.path = std::string(path);
    return b;
  }
  b.kind = Bind::Kind::Tcp;
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (rest.size() < 2 || rest.front() != ':') return std::nullopt;
    port = rest.substr(1);
    if (!is_ipv6(std::string(host))) return std::nullopt;
  } else {
    size_t colon = text.find(':');
    if (colon == std::string_view::npos) {
      // "8000" alone is a port; "127.0.0.1" alone is a host on port 8000.
      if (!text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos) {
        port = text;
        host = "";
      } else {
        host = text;
        port = "8000";
      }
    } else {
      if (text.find(':', colon + 1) != std::string_view::npos) return std::nullopt;  // bare IPv6
      host = text.substr(0, colon);
      port = text.substr(colon + 1);
    }
    if (host.empty()) {
      host = "0.0.0.0";
    } else if (host == "localhost") {
      host = "127.0.0.1";
    } else if (!is_ipv4(std::string(host))) {
      return std::nullopt;
    }
  }
  auto p = parse_port(port);
  if (!p) return std::nullopt;
  b.host = std::string(host);
  b.port = *p;
  return b;
}

std::string to_string(const Bind& b) {
  if (b.kind == Bind::Kind::Unix) return "unix:" + b.path;
  if (b.host.find(':') != std::string::npos) return "[" + b.host + "]:" + std::to_string(b.port);
  return b.host + ":" + std::to_string(b.port);
}

bool binds_conflict(const Bind& a, const Bind& b) {
  if (a.kind != b.kind) return false;
  if (a.kind == Bind::Kind::Unix) return a.path == b.path;
  if (a.port != b.port || a.port == 0) return false;
  bool a6 = a.host.find(':') != std::string::npos;
  bool b6 = b.host.find(':') != std::string::npos;
  if (a6 != b6) return false;  // v4 vs v6: depends on IPV6_V6ONLY, not our call
  if (a6) {
    in6_addr x, y;
    inet_pton(AF_INET6, a.host.c_str(), &x);
    inet_pton(AF_INET6, b.host.c_str(), &y);
    if (IN6_ARE_ADDR_EQUAL(&x, &y)) return true;
    return IN6_IS_ADDR_UNSPECIFIED(&x) || IN6_IS_ADDR_UNSPECIFIED(&y);
  }
  return a.host == b.host || a.host == "0.0.0.0" || b.host == "0.0.0.0";
}

bool is_allow_ip_entry(std::string_view entry) {
  if (entry == "*") return true;
  std::string addr(entry);
  std::optional<uint64_t> prefix;
  size_t slash = addr.find('/');
  if (slash != std::string::npos) {
    prefix = parse_uint(std::string_view(addr).substr(slash + 1), 128);
    if (!prefix) return false;
    addr.resize(slash);
  }
  if (is_ipv4(addr)) return !prefix || *prefix <= 32;
  return is_ipv6(addr);
}

std::optional<std::vector<std::string>> parse_allow_ips(std::string_view text) {
  std::vector<std::string> out;
  while (true) {
    size_t comma = text.find(',');
    std::string_view item = ascii::trim_space(text.substr(0, comma));
    if (!is_allow_ip_entry(item)) return std::nullopt;
    out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace hearth::config

namespace hearth::config {

bool is_loopback(const Bind& b) {
  if (b.kind == Bind::Kind::Unix) return true;
  return b.host.rfind("127.", 0) == 0 || b.host == "::1" || b.host == "localhost";
}

}  // namespace hearth::config
