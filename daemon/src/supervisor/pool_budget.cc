// The memory_budget side of the Pool (pool.h): what the app's process tree
// uses now, the cap and the "cannot be met" warning. The decisions are the
// pure policies in policies.h and reconciler.h; this file acts on their answers.
#include <algorithm>
#include <string>

#include "common/log.h"
#include "supervisor/policies.h"
#include "supervisor/pool.h"

namespace hearth::supervisor {

BudgetFacts Pool::budget_facts() const { return supervisor::budget_facts(observe()); }

uint64_t Pool::budget() const {
  const uint64_t own = opt_.memory_budget;
  if (!opt_.ledger) return own;
  const uint64_t share = opt_.ledger->share(this);
  return own > 0 && own <= share ? own : share;
}

std::string Pool::budget_label() const {
  if (!opt_.ledger || (opt_.memory_budget > 0 && opt_.memory_budget <= opt_.ledger->share(this))) return "memory_budget";
  return "the app's share of total_memory_budget";
}

void Pool::set_budget_cap(uint32_t cap, const BudgetFacts& f) {
  cap = std::max<uint32_t>(cap, 1);
  if (budget_cap_ == cap) return;
  if (cap < desired_ && (!budget_cap_ || cap < *budget_cap_)) {
    HLOG_CTX(Warn, ctx("pool"), budget_label() << " " << (budget() >> 20) << " MiB fits " << cap
                                            << " worker(s) (the app uses " << (f.used >> 20)
                                            << " MiB now, zygote " << ((zygote_memory_ ? zygote_memory_->rss : 0) >> 20)
                                            << " MiB + up to " << (f.worker_cost.value_or(0) >> 20)
                                            << " MiB private per worker); capping from " << desired_);
  }
  budget_cap_ = cap;
  if (phase_ == Phase::Starting && ready_workers() >= target()) {
    phase_ = Phase::Running;
    HLOG_CTX(Info, ctx("pool"), "workers ready: " << ready_workers() << "/" << target());
  }
}

void Pool::note_budget_unmet(const BudgetFacts& f) {
  bool unmet = budget_unmet(f) && !f.freeing && !gens_.reloading();
  if (unmet && !budget_unmet_) {
    HLOG_CTX(Warn, ctx("pool"), budget_label() << " " << (budget() >> 20)
                                            << " MiB cannot be met: the app uses " << (f.used >> 20)
                                            << " MiB with one worker (zygote "
                                            << ((zygote_memory_ ? zygote_memory_->rss : 0) >> 20)
                                            << " MiB); running one worker");
  } else if (!unmet && budget_unmet_ && !gens_.reloading() && !f.freeing) {
    HLOG_CTX(Info, ctx("pool"), "the app fits in " << budget_label() << " again (" << (f.used >> 20) << " MiB)");
  } else if (!unmet) {
    return;
  }
  budget_unmet_ = unmet;
}

}  // namespace hearth::supervisor
