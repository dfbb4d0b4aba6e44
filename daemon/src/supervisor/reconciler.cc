#include "supervisor/reconciler.h"

namespace hearth::supervisor {

using State = Worker::State;
using Reason = Worker::StopReason;
using Why = Action::Why;

bool is_live(State s) { return s == State::Forking || s == State::Booting || s == State::Admitting || s == State::Ready; }
bool is_booting(State s) { return s == State::Forking || s == State::Booting || s == State::Admitting; }

Action Action::start(uint32_t gen, Why why) {
  Action a{Kind::StartWorker};
  a.generation = gen;
  a.why = why;
  return a;
}

Action Action::retire(int id, Reason reason, Why why) {
  Action a{Kind::Retire};
  a.worker = id;
  a.reason = reason;
  a.why = why;
  return a;
}

const char* action_kind_name(Action::Kind k) {
  switch (k) {
    case Action::Kind::StartWorker: return "start_worker";
    case Action::Kind::Retire: return "retire";
    case Action::Kind::MarkVictim: return "mark_victim";
    case Action::Kind::StopVictim: return "stop_victim";
    case Action::Kind::CapBudget: return "cap_budget";
    case Action::Kind::NoteBudget: return "note_budget";
    case Action::Kind::StartZygote: return "start_zygote";
    case Action::Kind::Promote: return "promote";
  }
  return "?";
}

bool PoolView::zygote_ready(uint32_t gen) const {
  for (auto& z : zygotes) {
    if (z.generation == gen) return z.state == Zygote::State::Ready;
  }
  return false;
}

namespace {

// A started worker in the plan's copy of the view: Forking, no pid, no memory
// yet (what re-reading the pool right after the start would show).
int planned_id(const PoolView& v) {
  int id = -2;
  for (auto& w : v.workers) id = std::min(id, w.id - 1);
  return id;
}

void simulate_start(PoolView& v, uint32_t gen) {
  WorkerView w;
  w.id = planned_id(v);
  w.generation = gen;
  v.workers.push_back(w);
}

void simulate_stop(PoolView& v, int id) {
  for (auto& w : v.workers) {
    if (w.id == id) w.state = State::Stopping;
  }
}

// Retires the pick of `gen` into the plan and the copy; false when none is live.
bool retire(PoolView& v, Plan& plan, uint32_t gen, Reason reason, Why why = Why::None) {
  auto id = pick_retiree(v, gen);
  if (!id) return false;
  plan.push_back(Action::retire(*id, reason, why));
  simulate_stop(v, *id);
  return true;
}

Reason victim_reason(RecycleReason r) { return r == RecycleReason::Memory ? Reason::Memory : Reason::MaxRequests; }

// The generation of a live worker that is not `gen` (the highest id's, as the
// pool's map order gave it); 0 if none.
uint32_t old_generation(const PoolView& v, uint32_t gen) {
  uint32_t old = 0;
  for (auto& w : v.workers) {
    if (is_live(w.state) && w.generation != gen) old = w.generation;
  }
  return old;
}

Action facts_action(Action::Kind k, const BudgetFacts& f, uint32_t count = 0) {
  Action a{k};
  a.facts = f;
  a.count = count;
  return a;
}

}  // namespace

uint32_t live_workers(const PoolView& v, uint32_t gen, Victim victim) {
  uint32_t n = 0;
  for (auto& w : v.workers) {
    if (w.generation != gen || !is_live(w.state)) continue;
    if (victim == Victim::Skipped && w.id == v.recycle_victim) continue;
    ++n;
  }
  return n;
}

std::optional<int> pick_retiree(const PoolView& v, uint32_t gen) {
  std::optional<int> pick;
  int best = -1;
  for (auto it = v.workers.rbegin(); it != v.workers.rend(); ++it) {
    if (it->generation != gen || !is_live(it->state) || it->id == v.recycle_victim) continue;
    int score = is_booting(it->state) ? 3 : (it->busy_slots == 0 ? 2 : 1);
    if (score > best) {
      best = score;
      pick = it->id;
    }
  }
  return pick;
}

bool measuring(const PoolView& v) {
  for (auto& z : v.zygotes) {
    if (z.has_pid && z.state == Zygote::State::Starting && v.zygote_cost == 0) return true;
  }
  if (v.worker_cost) return false;
  for (auto& w : v.workers) {
    if (is_booting(w.state)) return true;
  }
  return false;
}

BudgetFacts budget_facts(const PoolView& v) {
  BudgetFacts f;
  f.budget = v.memory_budget;
  f.worker_cost = v.worker_cost;
  f.others_measuring = v.others_measuring;
  if (f.budget == 0) return f;
  const uint64_t worker_cost = v.worker_cost.value_or(0);
  for (auto& z : v.zygotes) {
    if (!z.has_pid || z.state == Zygote::State::Exited) continue;
    if (z.memory) f.used += z.memory->pss;
    // A new zygote imports what the active one did (its pages exist once: RSS).
    if (z.state == Zygote::State::Starting) f.pending += expected_growth(z.memory ? z.memory->rss : 0, v.zygote_cost);
    if (z.generation != v.active && z.generation != v.incoming) f.freeing = true;
  }
  for (auto& w : v.workers) {
    if (w.state == State::Dead) continue;
    if (w.has_pid && w.memory) f.used += w.memory->pss;
    if (is_live(w.state)) {
      ++f.live;
      if (is_booting(w.state)) f.pending += expected_growth(w.has_pid && w.memory ? w.memory->uss : 0, worker_cost);
    } else {
      f.freeing = true;  // draining or stopping: its memory comes back when it exits
    }
  }
  return f;
}

Plan plan_maintain(const PoolView& view) {
  const GenerationState step = view.incoming_state;
  if (view.incoming && (step == GenerationState::Rolling || (view.budget_on() && step == GenerationState::Canary)))
    return plan_reload(view);
  if (view.incoming && step == GenerationState::Waiting) return plan_room(view);
  if (!view.zygote_ready(view.active) || view.backing_off) return {};

  PoolView v = view;
  Plan plan;
  // Recycling: one marked worker at a time; while it is the victim it is not
  // counted, so the loop below starts its replacement first.
  if (v.recycle_victim < 0) {
    for (auto& w : v.workers) {
      if (w.generation == v.active && w.state == State::Ready && w.recycle != RecycleReason::None) {
        Action a{Action::Kind::MarkVictim};
        a.worker = w.id;
        a.reason = victim_reason(w.recycle);
        plan.push_back(a);
        v.recycle_victim = w.id;
        break;
      }
    }
  }
  const uint32_t t = v.target;
  uint32_t live = live_workers(v, v.active, Victim::Skipped);
  // Under memory_budget during a reload, the new generation's canary counts too.
  if (v.budget_on() && v.incoming) live += live_workers(v, *v.incoming, Victim::Counted);
  while (live < t) {
    if (v.budget_on()) {
      // Admit the next worker before it grows: it starts only if its expected
      // cost fits beside what the tree uses now (and what is still growing).
      BudgetFacts f = budget_facts(v);
      BudgetAdmit a = admit_worker(f);
      if (a != BudgetAdmit::Start) {
        if (v.recycle_victim >= 0 && a != BudgetAdmit::Measure) {
          // No room for a replacement beside the recycled worker: it goes first.
          for (auto& w : v.workers) {
            if (w.id != v.recycle_victim) continue;
            Action stop{Action::Kind::StopVictim};
            stop.worker = w.id;
            stop.reason = victim_reason(w.recycle);
            plan.push_back(stop);
            w.state = State::Stopping;
          }
          v.recycle_victim = -1;
        } else if (a == BudgetAdmit::Full && !v.incoming) {
          plan.push_back(facts_action(Action::Kind::CapBudget, f, f.live));
        }
        plan.push_back(facts_action(Action::Kind::NoteBudget, f));
        break;
      }
    }
    plan.push_back(Action::start(v.active));
    simulate_start(v, v.active);
    ++live;
  }
  while (live > t) {
    if (!retire(v, plan, v.active, Reason::Scale)) break;
    --live;
  }
  return plan;
}

Plan plan_reload(const PoolView& view) {
  if (!view.incoming) return {};
  PoolView v = view;
  Plan plan;
  const uint32_t gen = *v.incoming;
  if (v.incoming_state == GenerationState::Canary) {
    if (live_workers(v, gen, Victim::Counted) > 0) return plan;  // the canary is booting
    uint32_t old_live = live_workers(v, v.active, Victim::Counted);
    if (v.budget_on() && old_live > 0) {
      BudgetAdmit a = admit_worker(budget_facts(v));
      if (a == BudgetAdmit::Wait) return plan;  // an old worker is still exiting
      if (a == BudgetAdmit::Full) {
        retire(v, plan, v.active, Reason::Reload, old_live == 1 ? Why::CanaryLastOld : Why::CanaryNoRoom);
        return plan;
      }
    }
    plan.push_back(Action::start(gen, Why::Canary));
    return plan;
  }
  if (v.incoming_state != GenerationState::Rolling) return plan;
  const uint32_t t = v.target;
  while (true) {
    uint32_t new_live = 0, new_booting = 0, old_live = 0;
    for (auto& w : v.workers) {
      if (!is_live(w.state)) continue;
      if (w.generation == gen) {
        ++new_live;
        if (is_booting(w.state)) ++new_booting;
      } else {
        ++old_live;
      }
    }
    if (new_booting > 0) return plan;  // wait for it to be ready
    if (old_live > 0 && new_live + old_live > t) {
      // A new worker is ready: one old one drains (N ready at all times).
      if (!retire(v, plan, old_generation(v, gen), Reason::Reload)) return plan;  // only the recycle victim is left
      continue;
    }
    if (new_live < t) {
      if (v.budget_on()) {
        // Replace within the budget: when the next new worker does not fit,
        // an old one retires (and exits) first.
        BudgetFacts f = budget_facts(v);
        BudgetAdmit a = admit_worker(f);
        if (a == BudgetAdmit::Wait) return plan;  // its exit calls maintain()
        if (a == BudgetAdmit::Full) {
          if (old_live > 0) {
            retire(v, plan, old_generation(v, gen), Reason::Reload);
            return plan;
          }
          plan.push_back(facts_action(Action::Kind::CapBudget, f, new_live));  // the new code holds fewer workers
          plan.push_back(Action{Action::Kind::Promote});
          return plan;
        }
      }
      plan.push_back(Action::start(gen, Why::Rolling));
      return plan;
    }
    if (old_live == 0) plan.push_back(Action{Action::Kind::Promote});
    return plan;
  }
}

Plan plan_room(const PoolView& view) {
  if (!view.incoming || view.incoming_state != GenerationState::Waiting) return {};
  PoolView v = view;
  Plan plan;
  BudgetFacts f = budget_facts(v);
  uint32_t old_live = live_workers(v, v.active, Victim::Counted);
  bool fits = f.used + f.pending + v.zygote_cost <= f.budget;
  if (!fits && f.freeing) return plan;  // a retired worker is still exiting; its exit calls maintain()
  if (!fits && old_live > 1) {
    if (retire(v, plan, v.active, Reason::Reload, Why::ZygoteNoRoom)) plan.back().facts = f;
    return plan;
  }
  Action a = facts_action(Action::Kind::StartZygote, f);
  a.generation = *v.incoming;
  a.why = fits ? Why::None : Why::ZygoteOverBudget;
  plan.push_back(a);
  return plan;
}

WorkerView view_of(const Worker& w) {
  WorkerView wv;
  wv.id = w.id();
  wv.generation = w.generation();
  wv.state = w.state();
  wv.has_pid = w.pid() > 0;
  wv.busy_slots = w.busy_slots();
  wv.recycle = w.recycle();
  wv.stop_reason = w.stop_reason();
  wv.requests = w.requests_served();
  wv.request_limit = w.request_limit();
  wv.consecutive_failures = w.consecutive_failures();
  wv.idle_since = w.idle_since();
  return wv;
}

std::optional<Action> replacement_ready(const PoolView& v, int ready_id) {
  if (v.recycle_victim < 0 || ready_id == v.recycle_victim) return std::nullopt;
  for (auto& w : v.workers) {
    if (w.id == ready_id && w.generation != v.active) return std::nullopt;
  }
  Action a{Action::Kind::StopVictim};
  a.worker = v.recycle_victim;
  a.reason = Reason::MaxRequests;
  for (auto& w : v.workers) {
    if (w.id == v.recycle_victim) a.reason = victim_reason(w.recycle);
  }
  a.why = Why::ReplacementReady;
  return a;
}

ExchangeVerdict after_exchange(const WorkerView& w, uint32_t max_consecutive_failures) {
  ExchangeVerdict out;
  out.eject = max_consecutive_failures > 0 && w.consecutive_failures >= max_consecutive_failures &&
              w.state == State::Ready;
  if (w.recycle == RecycleReason::None) out.recycle = recycle_reason(w.requests, w.request_limit, std::nullopt, 0);
  return out;
}

EjectVerdict eject_verdict(const PoolView& v, int id) {
  EjectVerdict out;
  bool ready = false;
  uint32_t ready_count = 0;
  for (auto& w : v.workers) {
    if (w.stop_reason == Reason::Health && w.state != State::Dead) ++out.already_ejecting;
    if (w.state == State::Ready) ++ready_count;
    if (w.id == id) ready = w.state == State::Ready;
  }
  out.allowed = ready && may_eject(out.already_ejecting, std::max(ready_count + out.already_ejecting, v.target));
  return out;
}

bool restart_with_backoff(Reason r) {
  return r == Reason::Crash || r == Reason::BootFailed || r == Reason::BootTimeout || r == Reason::Broken;
}

int plan_autoscale(const PoolView& v, const AutoscaleParams& p, TimePoint now) {
  ScaleInput in;
  in.live = live_workers(v, v.active, Victim::Skipped);
  in.desired = p.desired;
  in.min = p.min;
  in.max = p.max;
  in.queued = p.queued;
  in.now = now;
  in.idle_timeout = p.idle_timeout;
  in.last_change = p.last_change;
  for (auto& w : v.workers) {
    if (w.generation != v.active || w.state != State::Ready || w.busy_slots > 0) continue;
    if (!in.longest_idle_since || w.idle_since < *in.longest_idle_since) in.longest_idle_since = w.idle_since;
  }
  return scale_decision(in);
}

}  // namespace hearth::supervisor
