// The Pool's side of the reconciler (reconciler.h): observe() turns the
// processes into a PoolView, execute() carries out the actions it returns.
// Every decision is in reconciler.cc; here are only the I/O and the logs.
#include "common/log.h"
#include "supervisor/pool.h"

namespace hearth::supervisor {

using Kind = Action::Kind;
using Why = Action::Why;

Pool::ReloadStep Pool::reload_step() const {
  if (!gens_.reloading()) return ReloadStep::None;
  switch (gens_.incoming_state()) {
    case GenerationState::Waiting: return ReloadStep::Room;
    case GenerationState::Importing: return ReloadStep::Importing;
    case GenerationState::Canary: return ReloadStep::Canary;
    case GenerationState::Rolling: return ReloadStep::Rolling;
    case GenerationState::Active:
    case GenerationState::Retired: break;
  }
  return ReloadStep::None;
}

PoolView Pool::observe(Memory memory_wanted) const {
  PoolView v;
  v.target = target();
  v.memory_budget = budget();
  v.active = gens_.active();
  v.incoming = gens_.incoming();
  v.incoming_state = gens_.incoming_state();
  v.backing_off = maintain_scheduled_;
  v.recycle_victim = recycle_victim_;
  v.worker_cost = worker_cost_;
  v.zygote_cost = zygote_memory_ ? zygote_memory_->rss : 0;
  v.others_measuring = opt_.ledger && opt_.ledger->others_measuring(this);
  const bool memory = memory_wanted == Memory::Read && budget() > 0;
  for (auto& [gen, z] : zygotes_) {
    ZygoteView zv;
    zv.generation = gen;
    zv.state = z->state();
    zv.has_pid = z->pid() > 0;
    if (memory && zv.has_pid && zv.state != Zygote::State::Exited) zv.memory = read_memory(z->pid());
    v.zygotes.push_back(zv);
  }
  for (auto& [id, w] : workers_) {
    WorkerView wv = view_of(*w);
    if (memory && wv.has_pid && wv.state != Worker::State::Dead) wv.memory = read_memory(w->pid());
    v.workers.push_back(std::move(wv));
  }
  if (memory && opt_.ledger) {
    // What this app holds and still expects, for the other apps' shares.
    const BudgetFacts f = supervisor::budget_facts(v);
    opt_.ledger->report(this, f.used + f.pending, measuring(v));
  }
  return v;
}

void Pool::retire(const Action& a) {
  auto it = workers_.find(a.worker);
  if (it == workers_.end()) return;
  const uint64_t budget_mib = budget() >> 20;
  switch (a.why) {
    case Why::CanaryLastOld:
      HLOG_CTX(Warn, ctx("reload"), budget_label() << " " << budget_mib
                                                << " MiB holds one worker: the old worker stops before the"
                                                   " canary starts (requests wait in the queue)");
      break;
    case Why::CanaryNoRoom:
      HLOG_CTX(Info, ctx("reload"), budget_label() << " " << budget_mib
                                                << " MiB has no room for the canary: retiring an old worker first");
      break;
    case Why::ZygoteNoRoom:
      HLOG_CTX(Info, ctx("reload"), budget_label() << " " << budget_mib << " MiB: the app uses " << (a.facts.used >> 20)
                                                << " MiB and the new zygote needs about "
                                                << ((zygote_memory_ ? zygote_memory_->rss : 0) >> 20)
                                                << " MiB; retiring an old worker first");
      break;
    default: break;
  }
  HLOG_CTX(Info, ctx("pool"), "stopping worker " << a.worker << " (" << stop_reason_name(a.reason) << ")");
  it->second->stop(a.reason, opt_.graceful_timeout);
}

void Pool::execute(const Plan& plan) {
  for (const Action& a : plan) {
    switch (a.kind) {
      case Kind::StartWorker:
        if (spawn_worker(a.generation)) break;
        // In the active generation spawn_worker has put the next try on the backoff timer.
        if (a.why == Why::Canary) abort_reload("could not start the canary worker", "");
        else if (a.why == Why::Rolling) abort_reload("could not start a worker of the new generation", "");
        return;
      case Kind::Retire: retire(a); break;
      case Kind::MarkVictim:
        recycle_victim_ = a.worker;
        HLOG_CTX(Info, ctx("pool"), "recycling worker " << a.worker << " ("
                                                   << (a.reason == Worker::StopReason::Memory ? "memory" : "max_requests")
                                                   << "): starting its replacement first");
        break;
      case Kind::StopVictim:
        if (auto it = workers_.find(a.worker); it != workers_.end()) {
          if (a.why != Why::ReplacementReady)
            HLOG_CTX(Info, ctx("pool"), budget_label() << " has no room for a second worker beside worker "
                                       << a.worker << ": it stops before its replacement starts");
          it->second->stop(a.reason, opt_.graceful_timeout);
        }
        recycle_victim_ = -1;
        break;
      case Kind::CapBudget: set_budget_cap(a.count, a.facts); break;
      case Kind::NoteBudget: note_budget_unmet(a.facts); break;
      case Kind::StartZygote:
        if (a.why == Why::ZygoteOverBudget) {
          const uint64_t zygote_cost = zygote_memory_ ? zygote_memory_->rss : 0;
          HLOG_CTX(Warn, ctx("reload"), budget_label() << " " << (a.facts.budget >> 20)
                                                    << " MiB cannot hold the new generation's zygote (about "
                                                    << (zygote_cost >> 20) << " MiB) beside one old worker ("
                                                    << (a.facts.used >> 20) << " MiB in use); the reload goes over it");
        }
        gens_.room_made();
        start_zygote(a.generation);
        break;
      case Kind::Promote: finish_reload(); break;
    }
  }
}

}  // namespace hearth::supervisor
