#include "supervisor/pool.h"

#include <signal.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cassert>

#include "common/log.h"
#include "supervisor/policies.h"

namespace hearth::supervisor {

namespace asio = boost::asio;
using std::chrono::milliseconds;

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

Pool::Pool(asio::io_context& io, Spawner& spawner, Reaper& reaper, Options options, Listener& listener,
           const ClockSource& clock)
    : io_(io), spawner_(spawner), reaper_(reaper), opt_(std::move(options)), listener_(listener), clock_(clock),
      desired_(opt_.workers), maintain_timer_(io), zygote_timer_(io), stop_timer_(io), memory_timer_(io),
      tick_timer_(io), rng_(std::random_device{}()) {
  if (opt_.min_workers == 0) opt_.min_workers = std::min<uint32_t>(opt_.workers, opt_.max_workers ? opt_.max_workers : opt_.workers);
  if (opt_.max_workers == 0) opt_.max_workers = std::max(opt_.workers, opt_.min_workers);
}

Pool::~Pool() {
  if (opt_.ledger) opt_.ledger->forget(this);
}

void Pool::start() {
  start_zygote(gens_.active());
  sample_memory();
  tick();
}

std::shared_ptr<Zygote> Pool::zygote(uint32_t gen) const {
  auto it = zygotes_.find(gen);
  return it == zygotes_.end() ? nullptr : it->second;
}

std::string Pool::app_interface() const {
  auto z = zygote(gens_.active());
  return z ? z->interface() : std::string();
}

void Pool::start_zygote(uint32_t gen) {
  if (phase_ == Phase::Stopping || phase_ == Phase::Stopped) return;
  Zygote::Events ev;
  ev.on_ready = [this](Zygote& z) {
    if (z.generation() == gens_.active()) {
      zygote_ever_ready_ = true;
      zygote_backoff_.reset();
      maintain();
    } else if (gens_.is_incoming(z.generation()) && gens_.incoming_state() == GenerationState::Importing) {
      gens_.zygote_ready();
      HLOG_CTX(Info, ctx("reload"), "generation " << z.generation() << " imported in " << z.import_ms()
                                             << " ms; starting the canary worker");
      reload_progress();
    }
  };
  ev.on_failed = [this](Zygote& z, const std::string& tb) {
    if (gens_.is_incoming(z.generation())) {
      abort_reload("the new code failed to import", tb);
      return;
    }
    if (!zygote_ever_ready_) {
      listener_.on_fatal("the app failed to import in the zygote:\n" + tb);
      return;
    }
    HLOG_CTX(Error, ctx("zygote"), "the app failed to import:\n" << tb);
  };
  ev.on_forked = [this](Zygote&, int id, pid_t pid) {
    auto it = workers_.find(id);
    if (it != workers_.end()) {
      it->second->on_forked(pid);
    } else {
      HLOG_CTX(Warn, ctx("zygote"), "FORKED for unknown worker " << id << " pid=" << pid << "; killing it");
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
        HLOG_CTX(Info, ctx("zygote"), "stopped pid=" << z.pid());
      else
        HLOG_CTX(Info, ctx("zygote"), "exited pid=" << z.pid() << " (" << st.describe() << ")");
      return;
    }
    if (!current) return;
    if (gens_.is_incoming(gen)) {
      if (z.state() != Zygote::State::Failed)
        abort_reload("the new generation's zygote exited (" + st.describe() + ")", "");
      return;
    }
    if (gen != gens_.active()) {
      HLOG_CTX(Info, ctx("zygote"), "generation " << gen << " zygote exited pid=" << z.pid());
      return;
    }
    if (z.state() == Zygote::State::Failed && !zygote_ever_ready_) return;  // fatal already reported
    HLOG_CTX(Error, ctx("zygote"), "exited unexpectedly pid=" << z.pid() << " (" << st.describe()
                                                         << "); starting a new one");
    ++counters_.restarts["zygote"];
    milliseconds delay = zygote_backoff_.on_exit(milliseconds(0));
    zygote_timer_.expires_after(delay);
    zygote_timer_.async_wait([this, gen](const boost::system::error_code& ec) {
      if (!ec && gen == gens_.active() && !zygote(gen)) start_zygote(gen);
    });
  };
  ZygoteSpec spec = opt_.zygote;
  spec.generation = gen;
  auto z = std::make_shared<Zygote>(io_, spawner_, reaper_, std::move(spec), std::move(ev));
  zygotes_[gen] = z;
  std::string err = z->start();
  if (!err.empty()) {
    zygotes_.erase(gen);
    if (gens_.is_incoming(gen)) {
      asio::post(io_, [this, err] { abort_reload(err, ""); });
      return;
    }
    if (!zygote_ever_ready_) {
      // Report after start() returns, so the daemon's wiring is complete.
      asio::post(io_, [this, err] { listener_.on_fatal(err); });
      return;
    }
    HLOG_CTX(Error, ctx("zygote"), err);
    zygote_timer_.expires_after(zygote_backoff_.on_failed_start());
    zygote_timer_.async_wait([this, gen](const boost::system::error_code& ec) {
      if (!ec && gen == gens_.active() && !zygote(gen)) start_zygote(gen);
    });
  }
}

uint32_t Pool::target() const {
  uint32_t t = desired_;
  if (budget_cap_ && *budget_cap_ < t) t = *budget_cap_;
  return std::max<uint32_t>(t, 1);
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
  const Plan plan = plan_maintain(observe());
  execute(plan);
  // total_memory_budget: the other apps see what was just started (its
  // expected growth) before they decide anything themselves.
  if (opt_.ledger && !plan.empty()) observe();
}

std::shared_ptr<Worker> Pool::spawn_worker(uint32_t gen) {
  auto z = zygote(gen);
  if (!z || z->state() != Zygote::State::Ready) return nullptr;
  int id = next_worker_id_++;
  auto w = std::make_shared<Worker>(io_, reaper_, static_cast<Worker::Listener&>(*this), slot_home_, id, gen,
                                    opt_.request_timeout, opt_.boot_timeout, clock_);
  w->set_request_limit(request_limit(opt_.max_requests, opt_.max_requests_jitter, rng_));
  w->set_log_name(opt_.zygote.log_name);
  w->set_dispatch_ahead(opt_.dispatch_ahead && z->interface() == "wsgi");
  std::vector<int> fds;
  std::string err = w->create_slots(z->slots(), &fds);
  if (!err.empty()) {
    HLOG_CTX(Error, ctx("pool"), "cannot create worker " << id << ": " << err);
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
  auto t0 = clock_.now();
  admit_(sp, [this, weak = std::weak_ptr<Worker>(sp), t0](bool ok, std::string why) {
    auto w = weak.lock();
    if (!w || w->state() != Worker::State::Admitting) return;
    w->set_warmup_ms(std::chrono::duration_cast<milliseconds>(clock_.now() - t0).count());
    if (ok) {
      w->admit();
    } else {
      HLOG_CTX(Error, ctx("worker " + std::to_string(w->id())), "warm-up failed: " << why << "; not admitted");
      on_worker_boot_failed(*w, "warm-up failed: " + why);
    }
  });
}

void Pool::on_worker_ready(Worker& w) {
  worker_ever_ready_ = true;
  w.set_memory(read_memory(w.pid()));  // a first figure for status; the timer does the rest
  if (budget() > 0 && w.memory()) {
    // What one more worker costs, measured before the next one starts.
    worker_cost_ = std::max(worker_cost_.value_or(0), w.memory()->uss);
    if (!gens_.is_incoming(w.generation())) asio::post(io_, [this] { maintain(); });
  }
  if (w.generation() == gens_.active()) {
    // The zygote has finished importing by now: refresh its figure too.
    if (auto z = zygote(gens_.active()); z && z->pid() > 0) zygote_memory_ = read_memory(z->pid());
  }
  if (ready_hook_) ready_hook_(w);
  if (w.generation() == gens_.active()) worker_backoff_.reset();
  if (phase_ == Phase::Starting && ready_workers() >= target()) {
    phase_ = Phase::Running;
    HLOG_CTX(Info, ctx("pool"), "workers ready: " << ready_workers() << "/" << target());
  }
  // A recycled worker's replacement is ready: now the old one may go.
  if (recycle_victim_ >= 0) {
    if (auto stop = replacement_ready(observe(Memory::Skip), w.id())) {
      execute({*stop});
      asio::post(io_, [this] { maintain(); });
    }
  }
  if (gens_.is_incoming(w.generation())) {
    if (gens_.canary_ready())
      HLOG_CTX(Info, ctx("reload"), "canary worker " << w.id() << " is ready; replacing the old workers one at a time");
    asio::post(io_, [this] { reload_progress(); });
  }
}

void Pool::on_worker_boot_failed(Worker& w, const std::string& text) {
  // An import failure in the first lazy worker is fatal (the app cannot load);
  // a failed warm-up (Admitting) is a failed boot that is retried.
  // An ASGI worker's lifespan.startup runs after the fork even with preload: the same.
  auto z = zygote(w.generation());
  bool app_boots_in_worker = !opt_.zygote.preload || (z && z->interface() == "asgi");
  if (!worker_ever_ready_ && phase_ == Phase::Starting && w.generation() == gens_.active() && app_boots_in_worker &&
      w.state() != Worker::State::Admitting) {
    // The worker has logged the traceback already: say it once.
    listener_.on_fatal((opt_.zygote.preload ? "the app failed to start (ASGI lifespan) in worker "
                                            : "the app failed to import in worker ") +
                       std::to_string(w.id()) + " (the traceback is above)");
    return;
  }
  if (gens_.is_incoming(w.generation())) {
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

void Pool::on_exchange_counted(Worker& w) {
  // Only Ready workers report here; shutdown() stops them all, so the pool is not stopping.
  ExchangeVerdict v = after_exchange(view_of(w), opt_.max_consecutive_failures);
  if (v.eject && eject(w.id(), std::to_string(w.consecutive_failures()) + " failed requests in a row")) return;
  if (v.recycle != RecycleReason::None) {
    w.mark_recycle(v.recycle);
    asio::post(io_, [this] { maintain(); });
  }
}

void Pool::on_worker_exit(Worker& w, const ExitStatus& st) {
  int id = w.id();
  uint32_t gen = w.generation();
  auto reason = w.stop_reason();
  bool was_ready = w.ready_at().has_value();
  auto uptime = std::chrono::duration_cast<milliseconds>(clock_.now() - w.started_at());
  // Remove it after the current call chain unwinds (the Worker is on the stack).
  asio::post(io_, [this, id] {
    workers_.erase(id);
    check_stopped();
  });
  if (id == recycle_victim_) recycle_victim_ = -1;
  if (phase_ == Phase::Stopping || phase_ == Phase::Stopped) return;
  if (reason != Worker::StopReason::Scale) ++restarts_;  // a scale-down (budget, idle, scale) is no restart
  ++counters_.restarts[stop_reason_name(reason)];
  if (gens_.is_incoming(gen) && !was_ready) {
    std::string detail = w.boot_error();
    abort_reload("a worker of the new generation exited before it was ready (" + st.describe() + ", " +
                     stop_reason_name(reason) + ")",
                 detail);
    return;
  }
  milliseconds delay{0};
  if (restart_with_backoff(reason)) {
    delay = worker_backoff_.on_exit(reason == Worker::StopReason::Crash ? uptime : milliseconds(0));
    if (worker_backoff_.crash_loop()) {
      HLOG_CTX(Error, ctx("pool"), "crash loop: " << worker_backoff_.streak()
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
  if (gens_.reloading()) {
    HLOG_CTX(Info, ctx("reload"), "a reload is already in progress; waiting for its outcome");
    reload_.waiters.push_back(std::move(cb));
    return;
  }
  // memory_budget: the new zygote waits for room (GenerationState::Waiting).
  const uint32_t gen = gens_.begin_reload(budget() > 0);
  reload_.started = clock_.now();
  reload_.waiters.push_back(std::move(cb));
  recycle_victim_ = -1;
  HLOG_CTX(Info, ctx("reload"), "starting generation " << gen << " (current " << gens_.active() << ")");
  if (gens_.incoming_state() == GenerationState::Waiting) {
    reload_room();
    return;
  }
  start_zygote(gen);
}

void Pool::reload_progress() {
  if (phase_ == Phase::Stopping) return;
  execute(plan_reload(observe()));
}

void Pool::reload_room() {
  if (phase_ == Phase::Stopping) return;
  execute(plan_room(observe()));
}

void Pool::finish_reload() {
  const uint32_t old = gens_.promote();
  const uint32_t active = gens_.active();
  assert(active != old);  // only a Rolling generation is promoted (reconciler: Promote)
  if (auto z = zygote(active); z && z->pid() > 0) zygote_memory_ = read_memory(z->pid());
  double secs = std::chrono::duration<double>(clock_.now() - reload_.started).count();
  for (auto& [gen, z] : zygotes_) {
    if (gen != active) z->shutdown();
  }
  zygote_ever_ready_ = true;
  ++counters_.reloads_ok;
  counters_.last_reload_seconds = secs;
  HLOG_CTX(Info, ctx("reload"), "generation " << active << " is serving (replaced generation " << old << " in "
                                         << secs << " s)");
  ReloadResult r;
  r.ok = true;
  r.generation = active;
  r.seconds = secs;
  r.message = "reloaded: generation " + std::to_string(active) + " serving";
  auto waiters = std::move(reload_.waiters);
  reload_ = Reload{};
  for (auto& cb : waiters) cb(r);
  maintain();
}

void Pool::abort_reload(const std::string& message, const std::string& detail) {
  if (!gens_.reloading()) return;
  const uint32_t gen = *gens_.abort();
  const uint32_t active = gens_.active();
  double secs = std::chrono::duration<double>(clock_.now() - reload_.started).count();
  HLOG_CTX(Error, ctx("reload"), "reload to generation " << gen << " aborted: " << message
                                                    << "; generation " << active << " keeps serving"
                                                    << (detail.empty() ? "" : "\n") << detail);
  ++counters_.reloads_failed;
  for (auto& [id, w] : workers_) {
    if (w->generation() == gen) w->stop(Worker::StopReason::Reload, opt_.graceful_timeout);
  }
  if (auto z = zygote(gen)) z->shutdown();
  ReloadResult r;
  r.ok = false;
  r.generation = active;
  r.seconds = secs;
  r.message = "reload aborted: " + message + "; generation " + std::to_string(active) + " keeps serving";
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
  EjectVerdict v = eject_verdict(observe(Memory::Skip), worker_id);
  if (!v.allowed) {
    HLOG_CTX(Debug, ctx("health"), "worker " << worker_id << " is unhealthy (" << why << ") but " << v.already_ejecting
                                       << " worker(s) are already being ejected; keeping it");
    return false;
  }
  HLOG_CTX(Warn, ctx("health"), "ejecting worker " << worker_id << ": " << why << "; starting a replacement");
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
  if (budget() > 0 && !gens_.reloading()) {
    BudgetFacts f = budget_facts();
    if (auto fit = budget_fit(f)) cap = fit;
  }
  if (cap && *cap < n) {
    if (capped) *capped = *cap;
  }
  HLOG_CTX(Info, ctx("pool"), "scaling to " << n << " worker(s)"
                                       << (cap && *cap < n
                                               ? " (capped to " + std::to_string(*cap) + " by " + budget_label() + ")"
                                               : std::string()));
  last_scale_ = clock_.now();
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
        HLOG_CTX(Warn, ctx("worker " + std::to_string(id)),
                 "private memory " << (m->uss >> 20) << " MiB is over max_worker_memory "
                                   << (opt_.max_worker_memory >> 20) << " MiB; recycling it");
        w->mark_recycle(RecycleReason::Memory);
      }
    }
  }
  auto z = zygote(gens_.active());
  zygote_memory_ = z && z->pid() > 0 ? read_memory(z->pid()) : std::nullopt;
  if (budget() > 0) {
    if (!uss.empty()) worker_cost_ = std::max(worker_cost_.value_or(0), *std::max_element(uss.begin(), uss.end()));
    BudgetFacts f = budget_facts();
    app_pss_ = f.used;
    // Re-fit the cap to what the workers cost now (they grow with use), but not
    // in the middle of a reload or while a stopping process still holds memory.
    if (!gens_.reloading() && !f.freeing && recycle_victim_ < 0) {
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
  if (opt_.max_workers > opt_.min_workers && !gens_.reloading()) {
    AutoscaleParams p;
    p.desired = desired_;
    p.min = opt_.min_workers;
    p.max = opt_.max_workers;
    p.queued = queue_probe_ ? queue_probe_() : 0;
    p.idle_timeout = opt_.idle_timeout;
    p.last_change = last_scale_;
    const TimePoint now = clock_.now();
    int d = plan_autoscale(observe(Memory::Skip), p, now);
    if (d != 0) {
      desired_ = static_cast<uint32_t>(static_cast<int>(desired_) + d);
      last_scale_ = now;
      HLOG_CTX(Info, ctx("pool"), (d > 0 ? "requests are queueing: adding a worker" : "a worker is idle: retiring one")
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
  if (gens_.reloading()) abort_reload("the daemon is shutting down", "");
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
  s.reload = reload_step_name(reload_step());
  s.generation = gens_.active();
  auto z = zygote(gens_.active());
  s.zygote_pid = z ? z->pid() : -1;
  s.zygote_state = z ? zygote_state_name(z->state()) : "none";
  s.zygote_memory = zygote_memory_;  // sampled on the timer, like the workers'

  s.desired = desired_;
  s.effective = target();
  s.budget_cap = budget_cap_;
  s.memory_budget = budget();
  s.app_pss = app_pss_;
  s.budget_unmet = budget_unmet_;
  s.ready = ready_workers();
  s.restarts = restarts_;
  s.crash_loop = worker_backoff_.crash_loop();
  auto now = clock_.now();
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
      if (slot->websocket_open()) ++wi.websockets;
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
