#include "upstream/server_set.h"

#include <cassert>

namespace hearth::upstream {

ServerSet::ServerSet(std::size_t servers, Params params) : params_(params), servers_(servers) {
  assert(servers > 0 && servers <= 64);
}

bool ServerSet::usable(std::size_t i, TimePoint now) const {
  return servers_[i].health != Health::Down && !ejected(i, now);
}

std::size_t ServerSet::usable_count(TimePoint now) const {
  std::size_t n = 0;
  for (std::size_t i = 0; i < servers_.size(); ++i) n += usable(i, now) ? 1 : 0;
  return n;
}

std::optional<std::size_t> ServerSet::pick(TimePoint now, std::uint64_t tried) {
  const std::size_t n = servers_.size();
  auto untried = [tried](std::size_t i) { return (tried & (std::uint64_t{1} << i)) == 0; };
  for (std::size_t k = 0; k < n; ++k) {
    std::size_t i = (next_ + k) % n;
    if (untried(i) && usable(i, now)) {
      next_ = (i + 1) % n;
      return i;
    }
  }
  if (usable_count(now) > 0) return std::nullopt;  // the usable ones were tried
  // Nothing usable: any server not tried yet, in turn.
  for (std::size_t k = 0; k < n; ++k) {
    std::size_t i = (next_ + k) % n;
    if (untried(i)) {
      next_ = (i + 1) % n;
      return i;
    }
  }
  return std::nullopt;
}

void ServerSet::on_success(std::size_t i) { servers_[i].ejected_until = TimePoint{}; }

void ServerSet::on_failure(std::size_t i, TimePoint now) {
  servers_[i].ejected_until = now + params_.eject_for;
  ++servers_[i].failures;
}

void ServerSet::set_checked(std::size_t i, Health h) {
  servers_[i].health = h;
  if (h == Health::Up) servers_[i].ejected_until = TimePoint{};
}

}  // namespace hearth::upstream
