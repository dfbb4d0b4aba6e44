#pragma once
// The daemon's side of one worker process: its pid, its slot sockets and its
// life. Lifetime: owned by the Pool; a Worker outlives its slots' exchanges
// (it detaches and closes them before it goes).
// It is the one observer of its slots' exchanges (WorkerSlot::Owner): it counts
// them, asks its Listener (the Pool) about ejection and recycling, and decides
// from its own state, checked once, whether the slot goes back to the Home.
#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <optional>

#include "common/clock.h"
#include "supervisor/memory.h"
#include "supervisor/policies.h"
#include "supervisor/reaper.h"
#include "supervisor/worker_slot.h"

namespace hearth::supervisor {

class Worker : public std::enable_shared_from_this<Worker>, private WorkerSlot::Owner {
 public:
  // The worker's life; one dimension only (health and generation are separate).
  enum class State {
    Forking,   // FORK sent to the zygote, pid not known yet
    Booting,   // process exists; waiting for WORKER_READY (lazy import)
    Admitting, // app loaded; warm-up/health before traffic (Pool's admission)
    Ready,     // in rotation
    Draining,  // out of rotation; stops once its in-flight requests finish
    Stopping,  // SIGTERM sent; SIGKILL at the deadline
    Dead,      // reaped (or never started)
  };
  // Why a worker is being stopped, for logs and restart counts.
  enum class StopReason {
    None,
    Shutdown,     // the daemon is stopping
    Crash,        // died on its own
    Timeout,      // a request ran past `timeout`
    BootFailed,   // import/warm-up failed
    BootTimeout,  // not ready within boot_timeout
    Broken,       // protocol violation
    Scale,        // scaled down (hearthctl scale, idle, memory budget)
    Reload,       // replaced by a new generation
    MaxRequests,  // recycled after max_requests
    Memory,       // recycled: private memory over max_worker_memory
    Health,       // ejected by health checks
  };

  class Listener {
   public:
    virtual ~Listener() = default;
    // WORKER_READY arrived: the app is loaded. The listener runs admission
    // (warm-up) and then calls admit().
    virtual void on_worker_booted(Worker& w) = 0;
    virtual void on_worker_ready(Worker& w) = 0;
    virtual void on_worker_boot_failed(Worker& w, const std::string& text) = 0;
    // Whether the app's traceback from this worker is worth logging in full:
    // not when the daemon is already exiting or the same text was just logged.
    virtual bool boot_error_is_news(Worker&, const std::string&) { return true; }
    // An exchange on a Ready worker ended and was counted (requests served,
    // consecutive failures): the listener may eject the worker or mark it for
    // recycling. Its slot goes back to the Home only if it is still Ready then.
    virtual void on_exchange_counted(Worker& w) = 0;
    virtual void on_worker_exit(Worker& w, const ExitStatus& st) = 0;
  };

  // `clock` stamps started_at, ready_at and idle_since and times its slots'
  // exchanges (the timers stay on the loop's clock). `home` (the dispatcher,
  // may be null in tests) receives its slots when they are free.
  Worker(boost::asio::io_context& io, Reaper& reaper, Listener& listener, WorkerSlot::Home* home, int id,
         uint32_t generation,
         std::chrono::milliseconds request_timeout, std::chrono::milliseconds boot_timeout,
         const ClockSource& clock);
  ~Worker();

  // Creates the slot socketpairs; returns the worker-side fds to send with FORK
  // (the caller closes them after sending), or an error message.
  [[nodiscard]] std::string create_slots(uint32_t threads, std::vector<int>* worker_fds);
  void on_forked(pid_t pid);
  void on_fork_failed(const std::string& error);
  // Admitting -> Ready: the worker takes traffic.
  void admit();

  // Graceful stop: out of rotation, finish in-flight requests, SIGTERM, then
  // SIGKILL after `grace`.
  void stop(StopReason reason, std::chrono::milliseconds grace);
  void kill_now(StopReason reason);

  int id() const { return id_; }
  pid_t pid() const { return pid_; }
  uint32_t generation() const { return generation_; }
  State state() const { return state_; }
  StopReason stop_reason() const { return stop_reason_; }
  const std::vector<std::shared_ptr<WorkerSlot>>& slots() const { return slots_; }
  std::size_t busy_slots() const;  // walks the slots (status, draining)
  // Exchanges running now, as the worker counts them: busy_slots() without the
  // walk (an ASGI worker has 100 slots; the pool looks after every request).
  std::size_t exchanges() const { return exchanges_; }
  uint64_t requests_served() const { return requests_; }
  TimePoint started_at() const { return started_; }
  // When it was admitted; nullopt while it never was (a ManualClock may stand at 0).
  std::optional<TimePoint> ready_at() const { return ready_at_; }
  int64_t boot_ms() const { return boot_ms_; }
  int64_t warmup_ms() const { return warmup_ms_; }
  void set_warmup_ms(int64_t ms) { warmup_ms_ = ms; }
  // When it last became idle (no busy slot); start time if it never worked.
  TimePoint idle_since() const { return idle_since_; }
  const std::optional<MemoryUsage>& memory() const { return memory_; }
  void set_memory(std::optional<MemoryUsage> m) { memory_ = m; }
  uint64_t request_limit() const { return request_limit_; }
  void set_request_limit(uint64_t n) { request_limit_ = n; }
  // Dispatch ahead (WorkerSlot::AheadState) on its slots: a WSGI worker with
  // `dispatch_ahead` on. Set before create_slots().
  void set_dispatch_ahead(bool on) { dispatch_ahead_ = on; }
  // [[apps]]: the app's name, before "worker N" in the log context ("" = none).
  void set_log_name(std::string name) { log_name_ = std::move(name); }
  // Marked for recycling; it serves until its replacement is ready.
  RecycleReason recycle() const { return recycle_; }
  void mark_recycle(RecycleReason r) { if (recycle_ == RecycleReason::None) recycle_ = r; }
  const std::string& boot_error() const { return boot_error_; }
  // Passive health: consecutive 5xx answers or failed exchanges on user traffic.
  uint32_t consecutive_failures() const { return consecutive_failures_; }

 private:
  void on_worker_ready(WorkerSlot& slot, std::string_view json) override;
  void on_worker_failed(WorkerSlot& slot, std::string_view text) override;
  void on_exchange_start(WorkerSlot&) override { ++exchanges_; }
  bool may_dispatch_ahead(const WorkerSlot& slot) const override;
  SlotFate on_exchange_done(WorkerSlot& slot, WorkerSlot::Outcome outcome) override;
  void on_slot_closed(WorkerSlot& slot) override;
  void on_exit(const ExitStatus& st);
  void send_term();
  void close_slots();
  std::string ctx() const;

  std::string log_name_;
  boost::asio::io_context& io_;
  Reaper& reaper_;
  Listener& listener_;
  WorkerSlot::Home* home_;
  const ClockSource& clock_;
  int id_;
  uint32_t generation_;
  std::chrono::milliseconds request_timeout_;
  std::chrono::milliseconds boot_timeout_;
  State state_ = State::Forking;
  StopReason stop_reason_ = StopReason::None;
  pid_t pid_ = -1;
  std::vector<std::shared_ptr<WorkerSlot>> slots_;
  boost::asio::steady_timer timer_;  // boot deadline, then the kill deadline
  std::chrono::milliseconds grace_{0};
  uint64_t requests_ = 0;
  TimePoint started_;
  std::optional<TimePoint> ready_at_;
  int64_t boot_ms_ = 0;
  int64_t warmup_ms_ = 0;
  TimePoint idle_since_;
  // Exchanges started and not done yet (= busy slots, without a pass over an
  // ASGI worker's 100 slots per request).
  std::size_t exchanges_ = 0;
  std::optional<MemoryUsage> memory_;
  uint64_t request_limit_ = 0;
  bool dispatch_ahead_ = false;
  RecycleReason recycle_ = RecycleReason::None;
  std::string boot_error_;
  uint32_t consecutive_failures_ = 0;
};

const char* worker_state_name(Worker::State s);
const char* stop_reason_name(Worker::StopReason r);

}  // namespace hearth::supervisor
