#pragma once
// Remembers, for a short time, that a static file has no precompressed
// variant (FILE.br, FILE.gz), so a busy file without variants costs one open
// per request instead of three (the two failed probes were ~17% of the
// daemon's CPU per 4 KB static request, docs/profile.md). Only absence is
// remembered: a file that has a variant is probed on every request, so a
// removed variant is never served. A variant created later is noticed within
// `ttl`. Pure: the caller passes the time and does the file system calls.
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/clock.h"

namespace hearth::statics {

class VariantMemo {
 public:
  static constexpr Duration kDefaultTtl{1000};
  static constexpr std::size_t kDefaultMaxEntries = 4096;

  explicit VariantMemo(Duration ttl = kDefaultTtl, std::size_t max_entries = kDefaultMaxEntries)
      : ttl_(ttl), max_entries_(max_entries) {}

  // True if `rel` was found without variants less than `ttl` before `now`.
  bool known_absent(const std::string& rel, TimePoint now) const;
  // Both probes of `rel` failed at `now`. When the memo is full, expired
  // entries are dropped first; if none has expired, all are.
  void remember_absent(const std::string& rel, TimePoint now);
  // A variant of `rel` exists (probed): any remembered absence is wrong now.
  void forget(const std::string& rel) { absent_until_.erase(rel); }
  std::size_t size() const { return absent_until_.size(); }

 private:
  Duration ttl_;
  std::size_t max_entries_;
  std::unordered_map<std::string, TimePoint> absent_until_;  // rel -> valid until
};

}  // namespace hearth::statics
