#include "supervisor/pool.h"

#include <signal.h>
#include <unistd.h>

#include <boost/asio/post.hpp>

#include "common/log.h"

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

Pool::Pool(asio::io_context& io, Spawner& spawner, Reaper& reaper, Options options, Listener& listener)
    : io_(io), spawner_(spawner), reaper_(reaper), opt_(std::move(options)), listener_(listener),
      maintain_timer_(io), zygote_timer_(io), stop_timer_(io) {}

Pool::~Pool() = default;

void Pool::start() { start_zygote(); }

void Pool::start_zygote() {
  if (phase_ == Phase::Stopping || phase_ == Phase::Stopped) return;
  Zygote::Events ev;
  ev.on_ready = [this](Zygote&) {
    zygote_ever_ready_ = true;
    maintain();
  };
  ev.on_failed = [this](Zygote& z, const std::string& tb) {
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
    bool current = zygote_.get() == &z;
    if (phase_ == Phase::Stopping) {
      HLOG_CTX(Info, "zygote", "exited pid=" << z.pid() << " (" << st.describe() << ")");
      check_stopped();
      return;
    }
    if (!current) return;
    if (z.state() == Zygote::State::Failed && !zygote_ever_ready_) return;  // fatal already reported
    HLOG_CTX(Error, "zygote", "exited unexpectedly pid=" << z.pid() << " (" << st.describe()
                                                         << "); starting a new one");
    milliseconds delay = zygote_backoff_.on_exit(milliseconds(0));
    zygote_timer_.expires_after(delay);
    zygote_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) start_zygote();
    });
  };
  auto z = std::make_shared<Zygote>(io_, spawner_, reaper_, opt_.zygote, std::move(ev));
  zygote_ = z;
  std::string err = z->start();
  if (!err.empty()) {
    if (!zygote_ever_ready_) {
      // Report after start() returns, so the daemon's wiring is complete.
      asio::post(io_, [this, err] { listener_.on_fatal(err); });
      return;
    }
    HLOG_CTX(Error, "zygote", err);
    zygote_timer_.expires_after(zygote_backoff_.on_failed_start());
    zygote_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) start_zygote();
    });
  }
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
  if (!zygote_ || zygote_->state() != Zygote::State::Ready) return;
  if (maintain_scheduled_) return;  // backing off
  uint32_t live = 0;
  for (auto& [id, w] : workers_) {
    auto s = w->state();
    if (s == Worker::State::Forking || s == Worker::State::Booting || s == Worker::State::Ready) ++live;
  }
  while (live < opt_.workers) {
    spawn_worker();
    ++live;
  }
}

void Pool::spawn_worker() {
  int id = next_worker_id_++;
  auto w = std::make_shared<Worker>(io_, reaper_, static_cast<Worker::Listener&>(*this), id, opt_.zygote.generation, opt_.request_timeout,
                                    opt_.boot_timeout);
  std::vector<int> fds;
  std::string err = w->create_slots(opt_.zygote.threads, &fds);
  if (!err.empty()) {
    HLOG_CTX(Error, "pool", "cannot create worker " << id << ": " << err);
    schedule_maintain(worker_backoff_.on_failed_start());
    return;
  }
  workers_[id] = w;
  bool sent = zygote_->fork_worker(id, fds);
  for (int fd : fds) ::close(fd);
  if (!sent) {
    w->on_fork_failed("the zygote's control channel is closed");
  }
}

void Pool::on_worker_ready(Worker& w) {
  worker_ever_ready_ = true;
  if (phase_ == Phase::Starting) {
    std::size_t ready = ready_workers();
    if (ready >= opt_.workers) {
      phase_ = Phase::Running;
      HLOG_CTX(Info, "pool", "workers ready: " << ready << "/" << opt_.workers);
    }
  }
}

void Pool::on_worker_boot_failed(Worker& w, const std::string& text) {
  if (!worker_ever_ready_ && phase_ == Phase::Starting && !opt_.zygote.preload) {
    listener_.on_fatal("the app failed to import in worker " + std::to_string(w.id()) + ":\n" + text);
    return;
  }
  w.kill_now(Worker::StopReason::BootFailed);
}

void Pool::on_slot_free(std::shared_ptr<WorkerSlot> slot) {
  if (phase_ == Phase::Stopping || phase_ == Phase::Stopped) return;
  listener_.on_slot_free(std::move(slot));
}

void Pool::on_worker_exit(Worker& w, const ExitStatus& st) {
  int id = w.id();
  auto reason = w.stop_reason();
  auto uptime = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - w.started_at());
  // Remove it after the current call chain unwinds (the Worker is on the stack).
  asio::post(io_, [this, id] {
    workers_.erase(id);
    check_stopped();
  });
  if (phase_ == Phase::Stopping || phase_ == Phase::Stopped) return;
  ++restarts_;
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

void Pool::shutdown(std::function<void()> done) {
  on_stopped_ = std::move(done);
  if (phase_ == Phase::Stopped) {
    if (on_stopped_) asio::post(io_, std::move(on_stopped_));
    return;
  }
  phase_ = Phase::Stopping;
  maintain_timer_.cancel();
  zygote_timer_.cancel();
  if (zygote_) zygote_->shutdown();
  for (auto& [id, w] : workers_) w->stop(Worker::StopReason::Shutdown, opt_.graceful_timeout);
  // Backstop: whatever is still alive after the grace period (+2 s) is killed.
  stop_timer_.expires_after(opt_.graceful_timeout + milliseconds(2000));
  stop_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    for (pid_t p : pids()) ::kill(p, SIGKILL);
  });
  check_stopped();
}

void Pool::check_stopped() {
  if (phase_ != Phase::Stopping) return;
  bool zygote_alive = zygote_ && zygote_->state() != Zygote::State::Exited && zygote_->pid() > 0;
  if (zygote_alive || !workers_.empty()) return;
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
  if (zygote_ && zygote_->pid() > 0 && zygote_->state() != Zygote::State::Exited) out.push_back(zygote_->pid());
  for (auto& [id, w] : workers_) {
    if (w->pid() > 0 && w->state() != Worker::State::Dead) out.push_back(w->pid());
  }
  return out;
}

Pool::Status Pool::status() const {
  Status s;
  s.phase = pool_phase_name(phase_);
  s.generation = opt_.zygote.generation;
  s.zygote_pid = zygote_ ? zygote_->pid() : -1;
  s.zygote_state = zygote_ ? zygote_state_name(zygote_->state()) : "none";
  s.desired = opt_.workers;
  s.ready = ready_workers();
  s.restarts = restarts_;
  s.crash_loop = worker_backoff_.crash_loop();
  auto now = std::chrono::steady_clock::now();
  for (auto& [id, w] : workers_) {
    WorkerInfo wi;
    wi.id = id;
    wi.pid = w->pid();
    wi.generation = w->generation();
    wi.state = worker_state_name(w->state());
    wi.requests = w->requests_served();
    wi.age_s = std::chrono::duration<double>(now - w->started_at()).count();
    wi.boot_ms = w->boot_ms();
    wi.busy_slots = w->busy_slots();
    wi.slots = w->slots().size();
    wi.current_ms = 0;
    for (auto& slot : w->slots()) {
      auto ms = slot->busy_for().count();
      if (ms > wi.current_ms || (wi.current_request.empty() && !slot->current_request_line().empty())) {
        wi.current_ms = ms;
        wi.current_request = slot->current_request_line();
      }
    }
    s.workers.push_back(std::move(wi));
  }
  return s;
}

}  // namespace hearth::supervisor
