#include "static/variant_memo.h"

namespace hearth::statics {

bool VariantMemo::known_absent(const std::string& rel, TimePoint now) const {
  auto it = absent_until_.find(rel);
  return it != absent_until_.end() && now < it->second;
}

void VariantMemo::remember_absent(const std::string& rel, TimePoint now) {
  if (max_entries_ == 0) return;
  auto it = absent_until_.find(rel);
  if (it != absent_until_.end()) {
    it->second = now + ttl_;
    return;
  }
  if (absent_until_.size() >= max_entries_) {
    for (auto e = absent_until_.begin(); e != absent_until_.end();) {
      e = now < e->second ? std::next(e) : absent_until_.erase(e);
    }
    if (absent_until_.size() >= max_entries_) absent_until_.clear();
  }
  absent_until_.emplace(rel, now + ttl_);
}

}  // namespace hearth::statics
