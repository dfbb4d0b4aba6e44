#pragma once
// Which server of an upstream takes the next request (docs/several-apps.md,
// "Upstreams"). Pure: no sockets, no timers; the time is passed in.
//
// Round robin over the usable servers. A server is usable unless
//  - an active check failed (set_checked(i, Health::Down)) and no later one
//    passed, or
//  - a request to it failed to connect or was reset before any response byte
//    (on_failure): it is ejected for `eject_for`, then usable again (passive).
// When no server is usable the set falls back to the ones not tried yet (as
// nginx does when every server is marked down): a server that came back is
// found at once instead of after the ejection. pick() skips the servers the
// request has already tried, so a retry goes to the next one.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "common/clock.h"

namespace hearth::upstream {

class ServerSet {
 public:
  // One server's health as the active checks see it.
  enum class Health {
    Unknown,  // not checked yet: usable
    Up,       // the last check passed
    Down,     // the last check failed: not usable until one passes
  };
  struct Params {
    std::chrono::milliseconds eject_for{5000};  // passive ejection after a failed request
  };
  ServerSet(std::size_t servers, Params params);

  // The next server for a request that already tried `tried` (a bit per
  // server, index < 64); nullopt when every server has been tried.
  [[nodiscard]] std::optional<std::size_t> pick(TimePoint now, std::uint64_t tried);
  void on_success(std::size_t i);
  void on_failure(std::size_t i, TimePoint now);
  void set_checked(std::size_t i, Health h);

  bool usable(std::size_t i, TimePoint now) const;
  std::size_t usable_count(TimePoint now) const;
  Health health(std::size_t i) const { return servers_[i].health; }
  bool ejected(std::size_t i, TimePoint now) const { return now < servers_[i].ejected_until; }
  std::uint64_t failures(std::size_t i) const { return servers_[i].failures; }
  std::size_t size() const { return servers_.size(); }

 private:
  struct Server {
    Health health = Health::Unknown;
    TimePoint ejected_until{};
    std::uint64_t failures = 0;  // failed requests, ever
  };
  Params params_;
  std::vector<Server> servers_;
  std::size_t next_ = 0;
};

}  // namespace hearth::upstream
