#include "supervisor/pool.h"

#include <signal.h>
#include <unistd.h>

#include <boost/asio/post.hpp>

#include "common/log.h"
#include "supervisor/policies.h"

namespace hearth::supervisor {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

const char* pool_phase_name(Pool::Phase p) {
  switch (p) {
    case Pool::Phase::Starting: return "starting";
    case Pool::Phase::Running: return "running";
    case Pool::Phase::Stopping: return "stopping";
    case Pool::Phase::Stopped: return "stopped";
  }
  return "?";
}

const char* reload_step_name(Pool::ReloadStep s) {
  switch (s) {
    case Pool::ReloadStep::None: return "none";
    case Pool::ReloadStep::Room: return "room";
    case Pool::ReloadStep::Importing: return "importing";
    case Pool::ReloadStep::Canary: return "canary";
    case Pool::ReloadStep::Rolling: return "rolling";
  }
  return "?";
}

bool Pool::is_live(Worker::State s) {
  return s == Worker::State::Forking || s == Worker::State::Booting || s == Worker::State::Admitting ||
         s == Worker::State::Ready;
}
bool Pool::is_booting(Worker::State s) {
  return s == Worker::State::Forking || s == Worker::State::Booting || s == Worker::State::Admitting;
}

Pool::Pool(asio::io_context& io, Spawner& spawner, Reaper& reaper, Options options, Listener& listener)
    : io_(io), spawner_(spawner), reaper_(reaper), opt_(std::move(options)), listener_(listener),
      desired_(opt_.workers), maintain_timer_(io), zygote_timer_(io), stop_timer_(io), memory_timer_(io),
      tick_timer_(io), rng_(std::random_device{}()) {
  if (opt_.min_workers == 0) opt_.min_workers = std::min<uint32_t>(opt_.workers, opt_.max_workers ? opt_.max_workers : opt_.workers);
  if (opt_.max_workers == 0) opt_.max_workers = std::max(opt_.workers, opt_.min_workers);
}

Pool::~Pool() = default;

void Pool::start() {
  active_gen_ = 1;
  start_zygote(active_gen_);
  sample_memory();
  tick();
}

std::shared_ptr<Zygote> Pool::zygote(uint32_t gen) const {
  auto it = zygotes_.find(gen);
  return it == zygotes_.end() ? nullptr : it->second;
}

void Pool::start_zygote(uint32_t gen) {
  if (phase_ == Phase::Stopping || phase_ == Phase::Stopped) return;
  Zygote::Events ev;
  ev.on_ready = [this](Zygote& z) {
    if (z.generation() == active_gen_) {
      zygote_ever_ready_ = true;
      zygote_backoff_.reset();
      maintain();
    } else if (reload_.step == ReloadStep::Importing && z.generation() == reload_.gen) {
      reload_.step = ReloadStep::Canary;
      HLOG_CTX(Info, "reload", "generation " << reload_.gen << " imported in " << z.import_ms()
                                             << " ms; starting the canary worker");
      reload_progress();
    }
  };
  ev.on_failed = [this](Zygote& z, const std::string& tb) {
    if (z.generation() == reload_.gen && reload_.step != ReloadStep::None) {
      abort_reload("the new code failed to import", tb);
      return;
    }
    if (!zygote_ever_ready_) {
      listener_.on_fatal("the app failed to import in the zygote:\n" + tb);
      return;
    }
    HLOG_CTX(Error, "zygote", "the app failed to import:\n" << tb);
  };
  ev.on_forked = [this](Zygote&, int id, pid_t pid) {
    auto it = workers_.find(id);
    if (it != workers_.end()) {
      it->second->on_forked(pid);
    } else {
      HLOG_CTX(Warn, "zygote", "FORKED for unknown worker " << id << " pid=" << pid << "; killing it");
      ::kill(pid, SIGKILL);
      reaper_.watch(pid, [](const ExitStatus&) {});
    }
  };
  ev.on_fork_failed = [this](Zygote&, int id, const std::string& err) {
    auto it = workers_.find(id);
    if (it != workers_.end()) it->second->on_fork_failed(err);
  };
  ev.on_exit = [this](Zygote& z, const ExitStatus& st) {
    uint32_t gen = z.generation();
    bool current = zygote(gen).get() == &z;
    if (current) {
      // Drop it once this call chain unwinds (the Zygote is on the stack).
      asio::post(io_, [this, gen, zp = &z] {
        auto it = zygotes_.find(gen);
        if (it != zygotes_.end() && it->second.get() == zp) zygotes_.erase(it);
        check_stopped();
      });
    }
    // Workers it had not forked yet never will be.
    for (auto& [id, w] : workers_) {
      if (w->generation() == gen && w->pid() < 0 && w->state() != Worker::State::Dead) w->on_fork_failed("the zygote exited");
    }
    if (phase_ == Phase::Stopping || phase_ == Phase::Stopped) {
      // A zygote told to stop that did is "stopped", not "exit 0" next to an app that failed.
      if (st.exited() && st.exit_code() == 0 && z.state() != Zygote::State::Failed)
        HLOG_CTX(Info, "zygote", "stopped pid=" << z.pid());
      else
        HLOG_CTX(Info, "zygote", "exited pid=" << z.pid() << " (" << st.describe() << ")");
      return;
    }
    if (!current) return;
    if (gen == reload_.gen && reload_.step != ReloadStep::None) {
      if (z.state() != Zygote::State::Failed)
        abort_reload("the new generation's zygote exited (" + st.describe() + ")", "");
      return;
    }
    if (gen != active_gen_) {
      HLOG_CTX(Info, "zygote", "generation " << gen << " zygote exited pid=" << z.pid());
      return;
    }
    if (z.state() == Zygote::State::Failed && !zygote_ever_ready_) return;  // fatal already reported
    HLOG_CTX(Error, "zygote", "exited unexpectedly pid=" << z.pid() << " (" << st.describe()
                                                         << "); starting a new one");
    ++counters_.restarts["zygote"];
    milliseconds delay = zygote_backoff_.on_exit(milliseconds(0));
    zygote_timer_.expires_after(delay);
    zygote_timer_.async_wait([this, gen](const boost::system::error_code& ec) {
      if (!ec && gen == active_gen_ && !zygote(gen)) start_zygote(gen);
    });
  };
  ZygoteSpec spec = opt_.zygote;
  spec.generation = gen;
  auto z = std::make_shared<Zygote>(io_, spawner_, reaper_, std::move(spec), std::move(ev));
  zygotes_[gen] = z;
  std::string err = z->start();
  if (!err.empty()) {
    zygotes_.erase(gen);
    if (gen == reload_.gen && reload_.step != ReloadStep::None) {
      asio::post(io_, [this, err] { abort_reload(err, ""); });
      return;
    }
    if (!zygote_ever_ready_) {
      // Report after start() returns, so the daemon's wiring is complete.
      asio::post(io_, [this, err] { listener_.on_fatal(err); });
      return;
    }
    HLOG_CTX(Error, "zygote", err);
    zygote_timer_.expires_after(zygote_backoff_.on_failed_start());
    zygote_timer_.async_wait([this, gen](const boost::system::error_code& ec) {
      if (!ec && gen == active_gen_ && !zygote(gen)) start_zygote(gen);
    });
  }
}

uint32_t Pool::target() const {
  uint32_t t = desired_;
  if (budget_cap_ && *budget_cap_ < t) t = *budget_cap_;
  return std::max<uint32_t>(t, 1);
}

uint32_t Pool::count(uint32_t gen, bool include_victim) const {
  uint32_t n = 0;
  for (auto& [id, w] : workers_) {
    if (w->generation() != gen || !is_live(w->state())) continue;
    if (!include_victim && id == recycle_victim_) continue;
    ++n;
  }
  return n;
}

void Pool::schedule_maintain(milliseconds delay) {
  if (maintain_scheduled_) return;
  maintain_scheduled_ = true;
  maintain_timer_.expires_after(delay);
  maintain_timer_.async_wait([this](const boost::system::error_code& ec) {
    maintain_scheduled_ = false;
    if (!ec) maintain();
  });
}

void Pool::maintain() {
  if (phase_ == Phase::Stopping || phase_ == Phase::Stopped) return;
  const bool budget_on = opt_.memory_budget > 0;
  if (reload_.step == ReloadStep::Rolling || (budget_on && reload_.step == ReloadStep::Canary)) {
    reload_progress();
    return;
  }
  if (reload_.step == ReloadStep::Room) {
    reload_room();
    return;
  }
  auto z = zygote(active_gen_);
  if (!z || z->state() != Zygote::State::Ready) return;
  if (maintain_scheduled_) return;  // backing off

  // Recycling: pick one marked worker at a time; while it is the victim it is
  // not counted, so the loop below starts its replacement first.
  if (recycle_victim_ < 0) {
    for (auto& [id, w] : workers_) {
      if (w->generation() == active_gen_ && w->state() == Worker::State::Ready &&
          w->recycle() != RecycleReason::None) {
        recycle_victim_ = id;
        HLOG_CTX(Info, "pool", "recycling worker " << id << " ("
                                                   << (w->recycle() == RecycleReason::Memory ? "memory" : "max_requests")
                                                   << "): starting its replacement first");
        break;
      }
    }
  }
  uint32_t t = target();
  uint32_t live = count(active_gen_, false);
  // Under memory_budget during a reload, the new generation's canary counts too.
  if (budget_on && reload_.step != ReloadStep::None) live += count(reload_.gen, true);
  while (live < t) {
    if (budget_on) {
      // Admit the next worker before it grows: it starts only if its expected
      // cost fits beside what the tree uses now (and what is still growing).
      BudgetFacts f = budget_facts();
      BudgetAdmit a = admit_worker(f);
      if (a != BudgetAdmit::Start) {
        if (recycle_victim_ >= 0 && a != BudgetAdmit::Measure) {
          // No room for a replacement beside the recycled worker: it goes first.
          auto it = workers_.find(recycle_victim_);
          if (it != workers_.end()) {
            HLOG_CTX(Info, "pool", "memory_budget has no room for a second worker beside worker "
                                       << recycle_victim_ << ": it stops before its replacement starts");
            it->second->stop(it->second->recycle() == RecycleReason::Memory ? Worker::StopReason::Memory
                                                                            : Worker::StopReason::MaxRequests,
                             opt_.graceful_timeout);
          }
          recycle_victim_ = -1;
        } else if (a == BudgetAdmit::Full && reload_.step == ReloadStep::None) {
          set_budget_cap(f.live, f);
        }
        note_budget_unmet(f);
        break;
      }
    }
    if (!spawn_worker(active_gen_)) break;
    ++live;
  }
  while (live > t) {
    retire_one(active_gen_, Worker::StopReason::Scale);
    --live;
  }
}

void Pool::retire_one(uint32_t gen, Worker::StopReason reason) {
  // Prefer one that is not serving: booting first (newest), then idle ready, then busy.
  std::shared_ptr<Worker> pick;
  int best = -1;
  for (auto it = workers_.rbegin(); it != workers_.rend(); ++it) {
    auto& w = it->second;
    if (w->generation() != gen || !is_live(w->state()) || it->first == recycle_victim_) continue;
    int score = is_booting(w->state()) ? 3 : (w->busy_slots() == 0 ? 2 : 1);
    if (score > best) {
      best = score;
      pick = w;
    }
  }
  if (!pick) return;
  HLOG_CTX(Info, "pool", "stopping worker " << pick->id() << " (" << stop_reason_name(reason) << ")");
  pick->stop(reason, opt_.graceful_timeout);
}

std::shared_ptr<Worker> Pool::spawn_worker(uint32_t gen) {
  auto z = zygote(gen);
  if (!z || z->state() != Zygote::State::Ready) return nullptr;
  int id = next_worker_id_++;
  auto w = std::make_shared<Worker>(io_, reaper_, static_cast<Worker::Listener&>(*this), id, gen,
                                    opt_.request_timeout, opt_.boot_timeout);
  w->set_request_limit(request_limit(opt_.max_requests, opt_.max_requests_jitter, rng_));
  std::vector<int> fds;
  std::string err = w->create_slots(opt_.zygote.threads, &fds);
  if (!err.empty()) {
    HLOG_CTX(Error, "pool", "cannot create worker " << id << ": " << err);
    schedule_maintain(worker_backoff_.on_failed_start());
    return nullptr;
  }
  workers_[id] = w;
  bool sent = z->fork_worker(id, fds);
  for (int fd : fds) ::close(fd);
  if (!sent) w->on_fork_failed("the zygote's control channel is closed");
  return w;
}

void Pool::on_worker_booted(Worker& w) {
  auto self = workers_.find(w.id());
  if (self == workers_.end()) return;
  std::shared_ptr<Worker> sp = self->second;
  if (!admit_) {
    sp->admit();
    return;
  }
  auto t0 = Clock::now();
  admit_(sp, [this, weak = std::weak_ptr<Worker>(sp), t0](bool ok, std::string why) {
    auto w = weak.lock();
    if (!w || w->state() != Worker::State::Admitting) return;
    w->set_warmup_ms(std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count());
    if (ok) {
      w->admit();
    } else {
      HLOG_CTX(Error, "worker " + std::to_string(w->id()), "warm-up failed: " << why << "; not admitted");
      on_worker_boot_failed(*w, "warm-up failed: " + why);
    }
  });
}

void Pool::on_worker_ready(Worker& w) {
  worker_ever_ready_ = true;
  w.set_memory(read_memory(w.pid()));  // a first figure for status; the timer does the rest
  if (opt_.memory_budget > 0 && w.memory()) {
    // What one more worker costs, measured before the next one starts.
    worker_cost_ = std::max(worker_cost_.value_or(0), w.memory()->uss);
    if (reload_.step == ReloadStep::None || w.generation() != reload_.gen) asio::post(io_, [this] { maintain(); });
  }
  if (w.generation() == active_gen_) {
    // The zygote has finished importing by now: refresh its figure too.
    if (auto z = zygote(active_gen_); z && z->pid() > 0) zygote_memory_ = read_memory(z->pid());
  }
  if (ready_hook_) ready_hook_(w);
  if (w.generation() == active_gen_) worker_backoff_.reset();
  if (phase_ == Phase::Starting && ready_workers() >= target()) {
    phase_ = Phase::Running;
    HLOG_CTX(Info, "pool", "workers ready: " << ready_workers() << "/" << target());
  }
  // A recycled worker's replacement is ready: now the old one may go.
  if (recycle_victim_ >= 0 && w.generation() == active_gen_ && w.id() != recycle_victim_) {
    auto it = workers_.find(recycle_victim_);
    if (it != workers_.end()) {
      auto reason = it->second->recycle() == RecycleReason::Memory ? Worker::StopReason::Memory
                                                                    : Worker::StopReason::MaxRequests;
      it->second->stop(reason, opt_.graceful_timeout);
    }
    recycle_victim_ = -1;
    asio::post(io_, [this] { maintain(); });
  }
  if (reload_.step != ReloadStep::None && w.generation() == reload_.gen) {
    if (reload_.step == ReloadStep::Canary) {
      HLOG_CTX(Info, "reload", "canary worker " << w.id() << " is ready; replacing the old workers one at a time");
      reload_.step = ReloadStep::Rolling;
    }
    asio::post(io_, [this] { reload_progress(); });
  }
}

void Pool::on_worker_boot_failed(Worker& w, const std::string& text) {
  // An import failure in the first lazy worker is fatal (the app cannot load);
  // a failed warm-up (Admitting) is a failed boot that is retried.
  if (!worker_ever_ready_ && phase_ == Phase::Starting && w.generation() == active_gen_ && !opt_.zygote.preload &&
      w.state() != Worker::State::Admitting) {
    // The worker has logged the traceback already: say it once.
    listener_.on_fatal("the app failed to import in worker " + std::to_string(w.id()) + " (the traceback is above)");
    return;
  }
  if (reload_.step != ReloadStep::None && w.generation() == reload_.gen) {
    abort_reload("a worker of the new generation failed to boot", text);
    return;
  }
  w.kill_now(Worker::StopReason::BootFailed);
}

bool Pool::boot_error_is_news(Worker&, const std::string& text) {
  // Two lazy workers that fail the same import, or a crash loop, show the traceback once.
  // The first line names the worker ("worker 2: failed to load app ..."): compare the rest.
  auto nl = text.find('\n');
  std::string traceback = nl == std::string::npos ? text : text.substr(nl + 1);
  if (phase_ == Phase::Stopping || phase_ == Phase::Stopped || traceback == last_boot_error_) return false;
  last_boot_error_ = std::move(traceback);
  return true;
}

void Pool::on_slot_free(std::shared_ptr<WorkerSlot> slot) {
  if (phase_ == Phase::Stopping || phase_ == Phase::Stopped) return;
  auto it = workers_.find(slot->worker_id());
  if (it != workers_.end()) {
    auto& w = it->second;
    if (opt_.max_consecutive_failures > 0 && w->consecutive_failures() >= opt_.max_consecutive_failures &&
        w->state() == Worker::State::Ready) {
      if (eject(w->id(), std::to_string(w->consecutive_failures()) + " failed requests in a row")) return;
    }
    if (w->recycle() == RecycleReason::None) {
      auto r = recycle_reason(w->requests_served(), w->request_limit(), std::nullopt, 0);
      if (r != RecycleReason::None) {
        w->mark_recycle(r);
        asio::post(io_, [this] { maintain(); });
      }
    }
  }
  listener_.on_slot_free(std::move(slot));
}

void Pool::on_worker_exit(Worker& w, const ExitStatus& st) {
  int id = w.id();
  uint32_t gen = w.generation();
  auto reason = w.stop_reason();
  bool was_ready = w.ready_at() != Clock::time_point{};
  auto uptime = std::chrono::duration_cast<milliseconds>(Clock::now() - w.started_at());
  // Remove it after the current call chain unwinds (the Worker is on the stack).
  asio::post(io_, [this, id] {
    workers_.erase(id);
    check_stopped();
  });
  if (id == recycle_victim_) recycle_victim_ = -1;
  if (phase_ == Phase::Stopping || phase_ == Phase::Stopped) return;
  if (reason != Worker::StopReason::Scale) ++restarts_;  // a scale-down (budget, idle, scale) is no restart
  ++counters_.restarts[stop_reason_name(reason)];
  if (reload_.step != ReloadStep::None && gen == reload_.gen && !was_ready) {
    std::string detail = w.boot_error();
    abort_reload("a worker of the new generation exited before it was ready (" + st.describe() + ", " +
                     stop_reason_name(reason) + ")",
                 detail);
    return;
  }
  milliseconds delay{0};
  if (reason == Worker::StopReason::Crash || reason == Worker::StopReason::BootFailed ||
      reason == Worker::StopReason::BootTimeout || reason == Worker::StopReason::Broken) {
    delay = worker_backoff_.on_exit(reason == Worker::StopReason::Crash ? uptime : milliseconds(0));
    if (worker_backoff_.crash_loop()) {
      HLOG_CTX(Error, "pool", "crash loop: " << worker_backoff_.streak()
                                             << " workers in a row died early; next start in " << delay.count()
                                             << " ms");
    }
  }
  asio::post(io_, [this, delay] {
    if (delay.count() > 0) schedule_maintain(delay);
    else maintain();
  });
}

// --- rolling reload ---

void Pool::reload(ReloadCallback cb) {
  if (phase_ == Phase::Stopping || phase_ == Phase::Stopped) {
    ReloadResult r;
    r.message = "the daemon is shutting down";
    cb(r);
    return;
  }
  if (reload_.step != ReloadStep::None) {
    HLOG_CTX(Info, "reload", "a reload is already in progress; waiting for its outcome");
    reload_.waiters.push_back(std::move(cb));
    return;
  }
  reload_.step = ReloadStep::Importing;
  reload_.gen = next_gen_++;
  reload_.started = Clock::now();
  reload_.waiters.push_back(std::move(cb));
  recycle_victim_ = -1;
  HLOG_CTX(Info, "reload", "starting generation " << reload_.gen << " (current " << active_gen_ << ")");
  if (opt_.memory_budget > 0) {
    reload_.step = ReloadStep::Room;
    reload_room();
    return;
  }
  start_zygote(reload_.gen);
}

void Pool::reload_progress() {
  if (phase_ == Phase::Stopping) return;
  const bool budget_on = opt_.memory_budget > 0;
  uint32_t gen = reload_.gen;
  if (reload_.step == ReloadStep::Canary) {
    if (count(gen, true) > 0) return;  // the canary is booting
    uint32_t old_live = count(active_gen_, true);
    if (budget_on && old_live > 0) {
      BudgetAdmit a = admit_worker(budget_facts());
      if (a == BudgetAdmit::Wait) return;  // an old worker is still exiting
      if (a == BudgetAdmit::Full) {
        if (old_live == 1) {
          HLOG_CTX(Warn, "reload", "memory_budget " << (opt_.memory_budget >> 20)
                                                    << " MiB holds one worker: the old worker stops before the"
                                                       " canary starts (requests wait in the queue)");
        } else {
          HLOG_CTX(Info, "reload", "memory_budget " << (opt_.memory_budget >> 20)
                                                    << " MiB has no room for the canary: retiring an old worker first");
        }
        retire_one(active_gen_, Worker::StopReason::Reload);
        return;
      }
    }
    if (!spawn_worker(gen)) abort_reload("could not start the canary worker", "");
    return;
  }
  if (reload_.step != ReloadStep::Rolling) return;
  uint32_t t = target();
  while (true) {
    uint32_t new_live = 0, new_booting = 0, old_live = 0;
    for (auto& [id, w] : workers_) {
      if (!is_live(w->state())) continue;
      if (w->generation() == gen) {
        ++new_live;
        if (is_booting(w->state())) ++new_booting;
      } else {
        ++old_live;
      }
    }
    if (new_booting > 0) return;  // wait for it to be ready
    if (old_live > 0 && new_live + old_live > t) {
      // A new worker is ready: one old one drains (N ready at all times).
      uint32_t old_gen = 0;
      for (auto& [id, w] : workers_) {
        if (is_live(w->state()) && w->generation() != gen) old_gen = w->generation();
      }
      retire_one(old_gen, Worker::StopReason::Reload);
      continue;
    }
    if (new_live < t) {
      if (budget_on) {
        // Replace within the budget: when the next new worker does not fit,
        // an old one retires (and exits) first.
        BudgetFacts f = budget_facts();
        BudgetAdmit a = admit_worker(f);
        if (a == BudgetAdmit::Wait) return;  // its exit calls maintain()
        if (a == BudgetAdmit::Full) {
          if (old_live > 0) {
            uint32_t old_gen = 0;
            for (auto& [id, w] : workers_) {
              if (is_live(w->state()) && w->generation() != gen) old_gen = w->generation();
            }
            retire_one(old_gen, Worker::StopReason::Reload);
            return;
          }
          set_budget_cap(new_live, f);  // the new code holds fewer workers
          finish_reload();
          return;
        }
      }
      if (!spawn_worker(gen)) abort_reload("could not start a worker of the new generation", "");
      return;
    }
    if (old_live == 0) finish_reload();
    return;
  }
}

void Pool::finish_reload() {
  uint32_t old = active_gen_;
  active_gen_ = reload_.gen;
  if (auto z = zygote(active_gen_); z && z->pid() > 0) zygote_memory_ = read_memory(z->pid());
  double secs = std::chrono::duration<double>(Clock::now() - reload_.started).count();
  for (auto& [gen, z] : zygotes_) {
    if (gen != active_gen_) z->shutdown();
  }
  zygote_ever_ready_ = true;
  ++counters_.reloads_ok;
  counters_.last_reload_seconds = secs;
  HLOG_CTX(Info, "reload", "generation " << active_gen_ << " is serving (replaced generation " << old << " in "
                                         << secs << " s)");
  ReloadResult r;
  r.ok = true;
  r.generation = active_gen_;
  r.seconds = secs;
  r.message = "reloaded: generation " + std::to_string(active_gen_) + " serving";
  auto waiters = std::move(reload_.waiters);
  reload_ = Reload{};
  for (auto& cb : waiters) cb(r);
  maintain();
}

void Pool::abort_reload(const std::string& message, const std::string& detail) {
  if (reload_.step == ReloadStep::None) return;
  uint32_t gen = reload_.gen;
  double secs = std::chrono::duration<double>(Clock::now() - reload_.started).count();
  HLOG_CTX(Error, "reload", "reload to generation " << gen << " aborted: " << message
                                                    << "; generation " << active_gen_ << " keeps serving"
                                                    << (detail.empty() ? "" : "\n") << detail);
  ++counters_.reloads_failed;
  for (auto& [id, w] : workers_) {
    if (w->generation() == gen) w->stop(Worker::StopReason::Reload, opt_.graceful_timeout);
  }
  if (auto z = zygote(gen)) z->shutdown();
  ReloadResult r;
  r.ok = false;
  r.generation = active_gen_;
  r.seconds = secs;
  r.message = "reload aborted: " + message + "; generation " + std::to_string(active_gen_) + " keeps serving";
  r.detail = detail;
  auto waiters = std::move(reload_.waiters);
  reload_ = Reload{};
  for (auto& cb : waiters) cb(r);
  // Old workers retired during rolling are replaced from the old generation.
  asio::post(io_, [this] { maintain(); });
}

// --- health ---

bool Pool::eject(int worker_id, const std::string& why) {
  if (phase_ == Phase::Stopping || phase_ == Phase::Stopped) return false;
  auto it = workers_.find(worker_id);
  if (it == workers_.end() || it->second->state() != Worker::State::Ready) return false;
  uint32_t ejecting = 0;
  for (auto& [id, w] : workers_) {
    if (w->stop_reason() == Worker::StopReason::Health && w->state() != Worker::State::Dead) ++ejecting;
  }
  uint32_t ready = static_cast<uint32_t>(ready_workers());
  if (!may_eject(ejecting, std::max(ready + ejecting, target()))) {
    HLOG_CTX(Debug, "health", "worker " << worker_id << " is unhealthy (" << why << ") but " << ejecting
                                       << " worker(s) are already being ejected; keeping it");
    return false;
  }
  HLOG_CTX(Warn, "health", "ejecting worker " << worker_id << ": " << why << "; starting a replacement");
  it->second->stop(Worker::StopReason::Health, opt_.graceful_timeout);
  asio::post(io_, [this] { maintain(); });
  return true;
}

// --- scale, memory, autoscale ---

std::string Pool::scale(uint32_t n, std::optional<uint32_t>* capped) {
  if (n == 0) return "the worker count must be at least 1";
  if (phase_ == Phase::Stopping || phase_ == Phase::Stopped) return "the daemon is shutting down";
  desired_ = n;
  opt_.min_workers = std::min(opt_.min_workers, n);
  opt_.max_workers = std::max(opt_.max_workers, n);
  std::optional<uint32_t> cap = budget_cap_;
  if (opt_.memory_budget > 0 && reload_.step == ReloadStep::None) {
    BudgetFacts f = budget_facts();
    if (auto fit = budget_fit(f)) cap = fit;
  }
  if (cap && *cap < n) {
    if (capped) *capped = *cap;
  }
  HLOG_CTX(Info, "pool", "scaling to " << n << " worker(s)"
                                       << (cap && *cap < n
                                               ? " (capped to " + std::to_string(*cap) + " by memory_budget)"
                                               : std::string()));
  last_scale_ = Clock::now();
  maintain();
  return {};
}

void Pool::sample_memory() {
  if (phase_ == Phase::Stopped) return;
  std::vector<uint64_t> uss;
  for (auto& [id, w] : workers_) {
    if (w->pid() <= 0 || !is_live(w->state())) continue;
    auto m = read_memory(w->pid());
    w->set_memory(m);
    if (m && w->state() == Worker::State::Ready) {
      uss.push_back(m->uss);
      if (opt_.max_worker_memory > 0 && m->uss > opt_.max_worker_memory && w->recycle() == RecycleReason::None) {
        HLOG_CTX(Warn, "worker " + std::to_string(id),
                 "private memory " << (m->uss >> 20) << " MiB is over max_worker_memory "
                                   << (opt_.max_worker_memory >> 20) << " MiB; recycling it");
        w->mark_recycle(RecycleReason::Memory);
      }
    }
  }
  auto z = zygote(active_gen_);
  zygote_memory_ = z && z->pid() > 0 ? read_memory(z->pid()) : std::nullopt;
  if (opt_.memory_budget > 0) {
    if (!uss.empty()) worker_cost_ = std::max(worker_cost_.value_or(0), *std::max_element(uss.begin(), uss.end()));
    BudgetFacts f = budget_facts();
    app_pss_ = f.used;
    // Re-fit the cap to what the workers cost now (they grow with use), but not
    // in the middle of a reload or while a stopping process still holds memory.
    if (reload_.step == ReloadStep::None && !f.freeing && recycle_victim_ < 0) {
      if (auto fit = budget_fit(f)) set_budget_cap(*fit, f);
    }
    note_budget_unmet(f);
  }
  if (phase_ != Phase::Stopping) asio::post(io_, [this] { maintain(); });
  memory_timer_.expires_after(opt_.memory_interval);
  memory_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) sample_memory();
  });
}

void Pool::tick() {
  if (phase_ == Phase::Stopping || phase_ == Phase::Stopped) return;
  if (opt_.max_workers > opt_.min_workers && reload_.step == ReloadStep::None) {
    ScaleInput in;
    in.live = count(active_gen_, false);
    in.desired = desired_;
    in.min = opt_.min_workers;
    in.max = opt_.max_workers;
    in.queued = queue_probe_ ? queue_probe_() : 0;
    in.now = Clock::now();
    in.idle_timeout = opt_.idle_timeout;
    in.last_change = last_scale_;
    for (auto& [id, w] : workers_) {
      if (w->generation() != active_gen_ || w->state() != Worker::State::Ready || w->busy_slots() > 0) continue;
      if (!in.longest_idle_since || w->idle_since() < *in.longest_idle_since) in.longest_idle_since = w->idle_since();
    }
    int d = scale_decision(in);
    if (d != 0) {
      desired_ = static_cast<uint32_t>(static_cast<int>(desired_) + d);
      last_scale_ = in.now;
      HLOG_CTX(Info, "pool", (d > 0 ? "requests are queueing: adding a worker" : "a worker is idle: retiring one")
                                 << " (now " << desired_ << ", min " << opt_.min_workers << ", max "
                                 << opt_.max_workers << ")");
      maintain();
    }
  }
  tick_timer_.expires_after(milliseconds(250));
  tick_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) tick();
  });
}

// --- shutdown and status ---

void Pool::shutdown(std::function<void()> done, std::optional<milliseconds> grace) {
  const milliseconds g = grace.value_or(opt_.graceful_timeout);
  on_stopped_ = std::move(done);
  if (phase_ == Phase::Stopped) {
    if (on_stopped_) asio::post(io_, std::move(on_stopped_));
    return;
  }
  if (reload_.step != ReloadStep::None) abort_reload("the daemon is shutting down", "");
  phase_ = Phase::Stopping;
  maintain_timer_.cancel();
  zygote_timer_.cancel();
  memory_timer_.cancel();
  tick_timer_.cancel();
  for (auto& [gen, z] : zygotes_) z->shutdown();
  for (auto& [id, w] : workers_) w->stop(Worker::StopReason::Shutdown, g);
  // Backstop: whatever is still alive after the grace period (+2 s) is killed.
  stop_timer_.expires_after(g + milliseconds(2000));
  stop_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    for (pid_t p : pids()) ::kill(p, SIGKILL);
  });
  check_stopped();
}

void Pool::check_stopped() {
  if (phase_ != Phase::Stopping) return;
  for (auto& [gen, z] : zygotes_) {
    if (z->state() != Zygote::State::Exited && z->pid() > 0) return;
  }
  if (!workers_.empty()) return;
  phase_ = Phase::Stopped;
  stop_timer_.cancel();
  if (on_stopped_) asio::post(io_, std::move(on_stopped_));
}

std::size_t Pool::ready_workers() const {
  std::size_t n = 0;
  for (auto& [id, w] : workers_) n += w->state() == Worker::State::Ready ? 1 : 0;
  return n;
}

std::vector<pid_t> Pool::pids() const {
  std::vector<pid_t> out;
  for (auto& [gen, z] : zygotes_) {
    if (z->pid() > 0 && z->state() != Zygote::State::Exited) out.push_back(z->pid());
  }
  for (auto& [id, w] : workers_) {
    if (w->pid() > 0 && w->state() != Worker::State::Dead) out.push_back(w->pid());
  }
  return out;
}

std::vector<std::shared_ptr<Worker>> Pool::workers() const {
  std::vector<std::shared_ptr<Worker>> out;
  for (auto& [id, w] : workers_) out.push_back(w);
  return out;
}

Pool::Status Pool::status() const {
  Status s;
  s.phase = pool_phase_name(phase_);
  s.reload = reload_step_name(reload_.step);
  s.generation = active_gen_;
  auto z = zygote(active_gen_);
  s.zygote_pid = z ? z->pid() : -1;
  s.zygote_state = z ? zygote_state_name(z->state()) : "none";
  s.zygote_memory = zygote_memory_;  // sampled on the timer, like the workers'

  s.desired = desired_;
  s.effective = target();
  s.budget_cap = budget_cap_;
  s.memory_budget = opt_.memory_budget;
  s.app_pss = app_pss_;
  s.budget_unmet = budget_unmet_;
  s.ready = ready_workers();
  s.restarts = restarts_;
  s.crash_loop = worker_backoff_.crash_loop();
  auto now = Clock::now();
  for (auto& [id, w] : workers_) {
    WorkerInfo wi;
    wi.id = id;
    wi.pid = w->pid();
    wi.generation = w->generation();
    wi.state = worker_state_name(w->state());
    wi.requests = w->requests_served();
    wi.age_s = std::chrono::duration<double>(now - w->started_at()).count();
    wi.boot_ms = w->boot_ms();
    wi.warmup_ms = w->warmup_ms();
    wi.busy_slots = w->busy_slots();
    wi.slots = w->slots().size();
    wi.current_ms = 0;
    wi.memory = w->memory();
    wi.recycle = w->recycle() == RecycleReason::Memory        ? "memory"
                 : w->recycle() == RecycleReason::MaxRequests ? "max_requests"
                                                              : "";
    for (auto& slot : w->slots()) {
      auto ms = slot->busy_for().count();
      if (!slot->current_request_line().empty()) wi.in_flight.push_back({slot->current_request_line(), ms});
      if (!slot->current_request_line().empty() && (wi.current_request.empty() || ms > wi.current_ms)) {
        wi.current_ms = ms;
        wi.current_request = slot->current_request_line();
      }
    }
    s.workers.push_back(std::move(wi));
  }
  return s;
}

}  // namespace hearth::supervisor
