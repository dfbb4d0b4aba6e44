#include "net/ip_allow_list.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace hearth::net {

std::optional<IpAllowList> IpAllowList::parse(const std::vector<std::string>& entries, std::string* error) {
  IpAllowList list;
  for (const auto& e : entries) {
    if (e == "*") {
      list.any_ = true;
      continue;
    }
    std::string addr = e;
    unsigned prefix = 0;
    bool has_prefix = false;
    if (auto slash = addr.find('/'); slash != std::string::npos) {
      std::string bits = addr.substr(slash + 1);
      addr.resize(slash);
      if (bits.empty() || bits.size() > 3 || bits.find_first_not_of("0123456789") != std::string::npos) {
        if (error) *error = "bad CIDR prefix in '" + e + "'";
        return std::nullopt;
      }
      prefix = static_cast<unsigned>(std::stoul(bits));
      has_prefix = true;
    }
    Range r;
    if (::inet_pton(AF_INET, addr.c_str(), r.bytes.data()) == 1) {
      r.v6 = false;
      if (!has_prefix) prefix = 32;
      if (prefix > 32) {
        if (error) *error = "CIDR prefix over 32 in '" + e + "'";
        return std::nullopt;
      }
    } else if (::inet_pton(AF_INET6, addr.c_str(), r.bytes.data()) == 1) {
      r.v6 = true;
      if (!has_prefix) prefix = 128;
      if (prefix > 128) {
        if (error) *error = "CIDR prefix over 128 in '" + e + "'";
        return std::nullopt;
      }
    } else {
      if (error) *error = "'" + e + "' is not an IP address, a CIDR range or *";
      return std::nullopt;
    }
    r.prefix = prefix;
    list.ranges_.push_back(r);
  }
  return list;
}

bool IpAllowList::match(bool v6, const uint8_t* bytes) const {
  for (const auto& r : ranges_) {
    if (r.v6 != v6) continue;
    unsigned full = r.prefix / 8, rest = r.prefix % 8;
    if (std::memcmp(r.bytes.data(), bytes, full) != 0) continue;
    if (rest) {
      uint8_t mask = static_cast<uint8_t>(0xFF << (8 - rest));
      if ((r.bytes[full] & mask) != (bytes[full] & mask)) continue;
    }
    return true;
  }
  return false;
}

bool IpAllowList::allows(const sockaddr* peer) const {
  if (any_) return true;
  if (peer->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(peer);
    return match(false, reinterpret_cast<const uint8_t*>(&in->sin_addr));
  }
  if (peer->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(peer);
    const auto* b = reinterpret_cast<const uint8_t*>(&in6->sin6_addr);
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && match(false, b + 12)) return true;
    return match(true, b);
  }
  return false;
}

bool IpAllowList::allows(std::string_view addr) const {
  if (any_) return true;
  if (addr.size() >= INET6_ADDRSTRLEN) return false;
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, addr.data(), addr.size());
  buf[addr.size()] = '\0';
  uint8_t bytes[16];
  if (::inet_pton(AF_INET, buf, bytes) == 1) return match(false, bytes);
  if (::inet_pton(AF_INET6, buf, bytes) == 1) {
    if (IN6_IS_ADDR_V4MAPPED(reinterpret_cast<const in6_addr*>(bytes)) && match(false, bytes + 12)) return true;
    return match(true, bytes);
  }
  return false;
}

}  // namespace hearth::net
