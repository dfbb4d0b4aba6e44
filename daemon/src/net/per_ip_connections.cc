#include "net/per_ip_connections.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace hearth::net {

std::string ip_text(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN];
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    return ::inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf) ? buf : "";
  }
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      return ::inet_ntop(AF_INET, reinterpret_cast<const uint8_t*>(&in6->sin6_addr) + 12, buf, sizeof buf) ? buf : "";
    }
    return ::inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf) ? buf : "";
  }
  return "";
}

std::unique_ptr<PerIpConnections::Slot> PerIpConnections::acquire(const std::string& addr) {
  uint32_t& n = counts_[addr];
  if (n >= max_) {
    if (n == 0) counts_.erase(addr);
    ++refused_;
    return nullptr;
  }
  ++n;
  return std::make_unique<Slot>(shared_from_this(), addr);
}

void PerIpConnections::release(const std::string& addr) {
  auto it = counts_.find(addr);
  if (it == counts_.end()) return;
  if (--it->second == 0) counts_.erase(it);
}

uint32_t PerIpConnections::open(const std::string& addr) const {
  auto it = counts_.find(addr);
  return it == counts_.end() ? 0 : it->second;
}

}  // namespace hearth::net
