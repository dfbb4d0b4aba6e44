#pragma once
// The daemon-wide memory budget (`total_memory_budget`, docs/several-apps.md):
// one ledger shared by every app's Pool. Each pool reports what its process
// tree uses now plus the growth it still expects (zygotes importing, workers
// booting: BudgetFacts used + pending); a pool's share is the total minus what
// the others reported. The pool then treats min(its own memory_budget, its
// share) as its budget, so every rule of the per-app budget (admission before a
// worker starts, the cap, one worker always runs) holds for the sum of the
// apps. First come, first served: an app that starts early may hold most of
// the total; per-app memory_budget values divide it deliberately.
// Pure bookkeeping, no I/O; the loop thread only.
#include <cstdint>
#include <map>

namespace hearth::supervisor {

class MemoryLedger {
 public:
  explicit MemoryLedger(uint64_t total) : total_(total) {}
  uint64_t total() const { return total_; }

  // `who` (a pool) uses and expects `bytes` now; `measuring`: it also has a
  // process growing by an amount not known yet. Replaces its last report.
  void report(const void* who, uint64_t bytes, bool measuring = false) { reports_[who] = {bytes, measuring}; }
  // `who` is gone (its app stopped): its memory is free again.
  void forget(const void* who) { reports_.erase(who); }

  // What `who` may use: the total minus every other reporter's last figure.
  // Never 0 (a budget of 0 means "off"): when the others hold it all, 1 byte,
  // so the pool runs its one worker and no more.
  uint64_t share(const void* who) const;
  // Every reporter's last figure summed.
  uint64_t used() const;
  // Another reporter is measuring: `who` should start nothing it can wait for.
  bool others_measuring(const void* who) const;

 private:
  uint64_t total_;
  struct Report {
    uint64_t bytes = 0;
    bool measuring = false;
  };
  std::map<const void*, Report> reports_;
};

}  // namespace hearth::supervisor
