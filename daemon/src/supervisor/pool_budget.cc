// The memory_budget side of the Pool (pool.h): what the app's process tree
// uses now, the cap, the "cannot be met" warning, and making room for a
// reload's new zygote. The decisions are the pure policies in policies.h;
// this file only reads /proc and acts on their answers.
#include <algorithm>

#include "common/log.h"
#include "supervisor/policies.h"
#include "supervisor/pool.h"

namespace hearth::supervisor {

BudgetFacts Pool::budget_facts() const {
  BudgetFacts f;
  f.budget = opt_.memory_budget;
  f.worker_cost = worker_cost_;
  if (f.budget == 0) return f;
  const uint64_t worker_cost = worker_cost_.value_or(0);
  // A new zygote imports what the active one did (its pages exist once: RSS).
  const uint64_t zygote_cost = zygote_memory_ ? zygote_memory_->rss : 0;
  for (auto& [gen, z] : zygotes_) {
    if (z->pid() <= 0 || z->state() == Zygote::State::Exited) continue;
    auto m = read_memory(z->pid());
    if (m) f.used += m->pss;
    if (z->state() == Zygote::State::Starting) f.pending += expected_growth(m ? m->rss : 0, zygote_cost);
    if (gen != active_gen_ && !(reload_.step != ReloadStep::None && gen == reload_.gen)) f.freeing = true;
  }
  for (auto& [id, w] : workers_) {
    if (w->state() == Worker::State::Dead) continue;
    std::optional<MemoryUsage> m;
    if (w->pid() > 0) m = read_memory(w->pid());
    if (m) f.used += m->pss;
    if (is_live(w->state())) {
      ++f.live;
      if (is_booting(w->state())) f.pending += expected_growth(m ? m->uss : 0, worker_cost);
    } else {
      f.freeing = true;  // draining or stopping: its memory comes back when it exits
    }
  }
  return f;
}

void Pool::set_budget_cap(uint32_t cap, const BudgetFacts& f) {
  cap = std::max<uint32_t>(cap, 1);
  if (budget_cap_ == cap) return;
  if (cap < desired_ && (!budget_cap_ || cap < *budget_cap_)) {
    HLOG_CTX(Warn, "pool", "memory_budget " << (opt_.memory_budget >> 20) << " MiB fits " << cap
                                            << " worker(s) (the app uses " << (f.used >> 20)
                                            << " MiB now, zygote " << ((zygote_memory_ ? zygote_memory_->rss : 0) >> 20)
                                            << " MiB + up to " << (f.worker_cost.value_or(0) >> 20)
                                            << " MiB private per worker); capping from " << desired_);
  }
  budget_cap_ = cap;
  if (phase_ == Phase::Starting && ready_workers() >= target()) {
    phase_ = Phase::Running;
    HLOG_CTX(Info, "pool", "workers ready: " << ready_workers() << "/" << target());
  }
}

void Pool::note_budget_unmet(const BudgetFacts& f) {
  bool unmet = budget_unmet(f) && !f.freeing && reload_.step == ReloadStep::None;
  if (unmet && !budget_unmet_) {
    HLOG_CTX(Warn, "pool", "memory_budget " << (opt_.memory_budget >> 20)
                                            << " MiB cannot be met: the app uses " << (f.used >> 20)
                                            << " MiB with one worker (zygote "
                                            << ((zygote_memory_ ? zygote_memory_->rss : 0) >> 20)
                                            << " MiB); running one worker");
  } else if (!unmet && budget_unmet_ && reload_.step == ReloadStep::None && !f.freeing) {
    HLOG_CTX(Info, "pool", "the app fits in memory_budget again (" << (f.used >> 20) << " MiB)");
  } else if (!unmet) {
    return;
  }
  budget_unmet_ = unmet;
}

void Pool::reload_room() {
  // memory_budget: the new zygote starts only once it fits beside what runs;
  // old workers retire one at a time (one keeps serving) until it does.
  if (reload_.step != ReloadStep::Room || phase_ == Phase::Stopping) return;
  BudgetFacts f = budget_facts();
  const uint64_t zygote_cost = zygote_memory_ ? zygote_memory_->rss : 0;
  uint32_t old_live = count(active_gen_, true);
  bool fits = f.used + f.pending + zygote_cost <= f.budget;
  if (!fits && f.freeing) return;  // a retired worker is still exiting; its exit calls maintain()
  if (!fits && old_live > 1) {
    HLOG_CTX(Info, "reload", "memory_budget " << (f.budget >> 20) << " MiB: the app uses " << (f.used >> 20)
                                              << " MiB and the new zygote needs about " << (zygote_cost >> 20)
                                              << " MiB; retiring an old worker first");
    retire_one(active_gen_, Worker::StopReason::Reload);
    return;
  }
  if (!fits) {
    HLOG_CTX(Warn, "reload", "memory_budget " << (f.budget >> 20) << " MiB cannot hold the new generation's zygote"
                                              << " (about " << (zygote_cost >> 20) << " MiB) beside one old worker ("
                                              << (f.used >> 20) << " MiB in use); the reload goes over it");
  }
  reload_.step = ReloadStep::Importing;
  start_zygote(reload_.gen);
}

}  // namespace hearth::supervisor
