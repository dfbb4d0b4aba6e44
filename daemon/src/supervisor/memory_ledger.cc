#include "supervisor/memory_ledger.h"

namespace hearth::supervisor {

uint64_t MemoryLedger::share(const void* who) const {
  uint64_t others = 0;
  for (const auto& [pool, r] : reports_) {
    if (pool != who) others += r.bytes;
  }
  return others >= total_ ? 1 : total_ - others;
}

uint64_t MemoryLedger::used() const {
  uint64_t sum = 0;
  for (const auto& [pool, r] : reports_) sum += r.bytes;
  return sum;
}

bool MemoryLedger::others_measuring(const void* who) const {
  for (const auto& [pool, r] : reports_) {
    if (pool != who && r.measuring) return true;
  }
  return false;
}

}  // namespace hearth::supervisor
