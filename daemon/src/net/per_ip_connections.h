#pragma once
// http.max_connections_per_ip (nginx's limit_conn): how many connections each
// client address holds open. A connection takes a Slot when it is accepted
// (or, with the PROXY protocol, once its header names the client) and gives it
// back when its Stream is destroyed. Pure bookkeeping: no sockets, no timers.
//
// Lifetime: shared_ptr; every Slot holds its counter, so a slot released after
// the server is gone still finds it.
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

struct sockaddr;

namespace hearth::net {

// "203.0.113.7" / "2001:db8::1" for an IP socket address (IPv4-mapped IPv6 as
// IPv4, as the connections show it), "" for anything else (a Unix socket).
std::string ip_text(const sockaddr* sa);

class PerIpConnections : public std::enable_shared_from_this<PerIpConnections> {
 public:
  explicit PerIpConnections(uint32_t max_per_ip) : max_(max_per_ip) {}

  // Gives back its address's count when destroyed. A slot without an owner
  // stands for a connection that is not counted (a Unix-socket peer).
  class Slot {
   public:
    Slot(std::shared_ptr<PerIpConnections> owner, std::string addr)
        : owner_(std::move(owner)), addr_(std::move(addr)) {}
    ~Slot() {
      if (owner_) owner_->release(addr_);
    }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

   private:
    std::shared_ptr<PerIpConnections> owner_;
    std::string addr_;
  };

  // A slot for `addr`, or null when it already holds max_per_ip connections
  // (counted in refused()).
  [[nodiscard]] std::unique_ptr<Slot> acquire(const std::string& addr);

  uint32_t open(const std::string& addr) const;
  std::size_t addresses() const { return counts_.size(); }  // with at least one connection
  uint64_t refused() const { return refused_; }

 private:
  void release(const std::string& addr);

  uint32_t max_;
  std::unordered_map<std::string, uint32_t> counts_;
  uint64_t refused_ = 0;
};

}  // namespace hearth::net
