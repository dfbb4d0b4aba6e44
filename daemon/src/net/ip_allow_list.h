#pragma once
// Which peers may do something only trusted peers may (send a PROXY protocol
// header): "*", IP addresses and CIDR ranges, as config::is_allow_ip_entry()
// accepts them. Pure: matching is a comparison of address bytes.
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::net {

class IpAllowList {
 public:
  IpAllowList() = default;  // allows nobody
  // nullopt (and `error` set) when an entry is not "*", an address or a CIDR range.
  [[nodiscard]] static std::optional<IpAllowList> parse(const std::vector<std::string>& entries,
                                                        std::string* error);
  // An IPv4-mapped IPv6 peer (a dual-stack listener's IPv4 client) matches IPv4 entries.
  bool allows(const sockaddr* peer) const;
  // The same for a textual address ("10.1.2.3", "::1"); false if it is not one.
  bool allows(std::string_view addr) const;
  bool allows_all() const { return any_; }

 private:
  struct Range {
    bool v6 = false;
    std::array<uint8_t, 16> bytes{};
    unsigned prefix = 0;  // bits that must match
  };
  bool match(bool v6, const uint8_t* bytes) const;

  bool any_ = false;
  std::vector<Range> ranges_;
};

}  // namespace hearth::net
