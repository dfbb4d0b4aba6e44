#pragma once
// Supervises one application: its generations (a zygote + the workers forked
// from it), keeping the desired number of workers ready. Respawns with
// backoff, recycles (max_requests, private memory), caps to a memory budget,
// autoscales, and rolls a new generation in on reload: canary first, one
// worker at a time, never below N ready, abort if the new code fails.
// The Pool is the hands: it owns the processes, timers and callbacks. The
// decisions (how many workers, which one to retire or recycle, the reload's
// next step, budget admission) are the pure functions of reconciler.h, fed a
// PoolView (observe()) and answered with actions (execute(), pool_actions.cc);
// where each generation is lives in Generations (generation.h).
// Lifetime: the Pool outlives its Zygotes and Workers; a Worker outlives its
// slots' exchanges.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/clock.h"
#include "supervisor/backoff.h"
#include "supervisor/generation.h"
#include "supervisor/memory_ledger.h"
#include "supervisor/memory.h"
#include "supervisor/reaper.h"
#include "supervisor/reconciler.h"
#include "supervisor/spawner.h"
#include "supervisor/worker.h"
#include "supervisor/zygote.h"

namespace hearth::supervisor {

class Pool : private Worker::Listener {
 public:
  // What the pool is doing as a whole.
  enum class Phase {
    Starting,  // first zygote / first workers not ready yet
    Running,   // serving (some workers may be restarting)
    Stopping,  // shutdown requested: no new workers; waiting for exits
    Stopped,   // zygotes and all workers have exited
  };
  // Where a rolling reload is (independent of Phase): the incoming
  // generation's GenerationState (Waiting = Room), None when none is coming.
  enum class ReloadStep {
    None,       // no reload in progress
    Room,       // memory_budget: retiring old workers one at a time until the new zygote fits
    Importing,  // the new generation's zygote is importing the new code
    Canary,     // one worker of the new generation is booting and warming up
    Rolling,    // replacing old workers one at a time
  };
  struct Options {
    ZygoteSpec zygote;  // generation is set per zygote
    uint32_t workers = 1;
    std::chrono::milliseconds request_timeout{30000};
    std::chrono::milliseconds boot_timeout{120000};
    std::chrono::milliseconds graceful_timeout{30000};
    uint64_t max_requests = 0;
    uint64_t max_requests_jitter = 0;
    uint64_t max_worker_memory = 0;
    uint64_t memory_budget = 0;
    // total_memory_budget: the daemon-wide budget shared with the other apps'
    // pools (memory_ledger.h); null = none. Outlives the pool.
    MemoryLedger* ledger = nullptr;
    uint32_t min_workers = 0;  // 0 = workers
    uint32_t max_workers = 0;  // 0 = workers
    std::chrono::milliseconds idle_timeout{60000};
    std::chrono::milliseconds memory_interval{5000};
    uint32_t max_consecutive_failures = 0;  // passive ejection; 0 = off
    // Hand a busy WSGI slot its next request before its response ends
    // (WorkerSlot::AheadState); never for an ASGI app.
    bool dispatch_ahead = false;
  };
  class Listener {
   public:
    virtual ~Listener() = default;
    // The app cannot start at all (import error at start-up): the daemon exits.
    virtual void on_fatal(const std::string& message) = 0;
  };
  struct ReloadResult {
    bool ok = false;
    uint32_t generation = 0;
    double seconds = 0;
    std::string message;  // one line
    std::string detail;   // the Python traceback, when the new code failed
  };
  using ReloadCallback = std::function<void(const ReloadResult&)>;
  // Admission: warm-up before traffic. Calls done(ok, why) when finished.
  using AdmitFn = std::function<void(std::shared_ptr<Worker>, std::function<void(bool, std::string)>)>;

  struct WorkerInfo {
    int id;
    pid_t pid;
    uint32_t generation;
    const char* state;
    uint64_t requests;
    double age_s;
    int64_t boot_ms;
    int64_t warmup_ms;
    std::size_t busy_slots;
    std::size_t slots;
    std::size_t websockets = 0;  // slots holding an open (accepted) WebSocket; they count in busy_slots
    std::string current_request;  // "GET /x" of the longest-running slot
    int64_t current_ms;
    struct InFlight {
      std::string request;  // "GET /x"
      int64_t ms;
    };
    std::vector<InFlight> in_flight;  // every busy slot's request (threads > 1: several)
    std::optional<MemoryUsage> memory;
    const char* recycle;  // "", "max_requests", "memory"
  };
  struct Status {
    const char* phase;
    const char* reload;
    uint32_t generation;
    pid_t zygote_pid;
    const char* zygote_state;
    std::optional<MemoryUsage> zygote_memory;
    uint32_t desired;
    uint32_t effective;  // desired after the memory budget cap
    std::optional<uint32_t> budget_cap;
    uint64_t memory_budget;  // bytes; 0 = off
    uint64_t app_pss;        // the app's process tree (zygotes + workers), last sampled
    bool budget_unmet;       // the tree is over memory_budget with one worker
    std::size_t ready;
    uint64_t restarts;
    bool crash_loop;
    std::vector<WorkerInfo> workers;
  };
  // Restarts by reason, for metrics.
  struct Counters {
    std::map<std::string, uint64_t> restarts;  // reason -> count
    uint64_t reloads_ok = 0;
    uint64_t reloads_failed = 0;
    double last_reload_seconds = 0;
  };

  // `clock` is read for every decision that depends on time (autoscaling, backoff
  // uptimes, reload durations, status ages) and handed to the Workers.
  Pool(boost::asio::io_context& io, Spawner& spawner, Reaper& reaper, Options options, Listener& listener,
       const ClockSource& clock = steady_clock_source());
  ~Pool();

  // The budget in force: memory_budget, or its share of total_memory_budget
  // when that is smaller (0 = off). Words for the logs: which one it is.
  uint64_t budget() const;
  std::string budget_label() const;

  void start();
  // Graceful: workers finish in-flight requests within `grace` (graceful_timeout when
  // not given), then TERM/KILL. The daemon passes 0 when its drain already used up
  // graceful_timeout with requests in flight: those workers are killed at once.
  void shutdown(std::function<void()> done, std::optional<std::chrono::milliseconds> grace = std::nullopt);
  // Rolling reload; cb gets the outcome (a reload already running: cb joins it).
  void reload(ReloadCallback cb);
  // Sets the worker count at runtime; returns "" or an error. When
  // memory_budget holds fewer than n, *capped gets how many it holds.
  std::string scale(uint32_t n, std::optional<uint32_t>* capped = nullptr);
  // Takes a worker out of rotation and replaces it (health); refuses when half
  // the workers are already being ejected. Returns whether it did.
  bool eject(int worker_id, const std::string& why);
  void set_admission(AdmitFn fn) { admit_ = std::move(fn); }
  // Where the workers' free slots go (the dispatcher; it outlives the pool).
  // Set before start(); without one (tests) no slot is handed out.
  void set_slot_home(WorkerSlot::Home* home) { slot_home_ = home; }
  // Called when a worker enters rotation (for boot/warm-up metrics).
  void set_ready_hook(std::function<void(const Worker&)> fn) { ready_hook_ = std::move(fn); }
  // How many requests are waiting (for autoscaling).
  void set_queue_probe(std::function<std::size_t()> fn) { queue_probe_ = std::move(fn); }

  std::size_t ready_workers() const;
  Phase phase() const { return phase_; }
  ReloadStep reload_step() const;
  uint32_t generation() const { return gens_.active(); }
  Status status() const;
  // The serving generation's app interface as its zygote reported it: "wsgi",
  // "asgi", "auto" (decided in each worker), or "" before any zygote is ready.
  std::string app_interface() const;
  const Counters& counters() const { return counters_; }
  std::vector<pid_t> pids() const;  // zygotes + workers, for emergency kill
  std::vector<std::shared_ptr<Worker>> workers() const;

 private:
  // The log context: `what`, after the app's name with [[apps]] (zygote.log_name).
  std::string ctx(std::string_view what) const {
    return opt_.zygote.log_name.empty() ? std::string(what) : opt_.zygote.log_name + " " + std::string(what);
  }
  // The reload's bookkeeping beside its generation's state (gens_).
  struct Reload {
    TimePoint started{};
    std::vector<ReloadCallback> waiters;
  };

  void start_zygote(uint32_t gen);
  std::shared_ptr<Zygote> zygote(uint32_t gen) const;
  void maintain();
  // What the reconciler decides from (pool_actions.cc). Memory::Read reads
  // /proc for memory_budget (only when it is on).
  enum class Memory { Read, Skip };
  PoolView observe(Memory memory = Memory::Read) const;
  // Carries out a plan in order; stops at the first worker that cannot start.
  void execute(const Plan& plan);
  void retire(const Action& a);
  void schedule_maintain(std::chrono::milliseconds delay);
  std::shared_ptr<Worker> spawn_worker(uint32_t gen);
  uint32_t target() const;
  // memory_budget (pool_budget.cc): what the tree uses now (read from /proc) and what is still growing.
  BudgetFacts budget_facts() const;
  void set_budget_cap(uint32_t cap, const BudgetFacts& f);
  void note_budget_unmet(const BudgetFacts& f);
  void reload_room();
  void reload_progress();
  void finish_reload();
  void abort_reload(const std::string& message, const std::string& detail);
  void check_stopped();
  void sample_memory();
  void tick();
  void on_worker_booted(Worker& w) override;
  void on_worker_ready(Worker& w) override;
  void on_worker_boot_failed(Worker& w, const std::string& text) override;
  bool boot_error_is_news(Worker& w, const std::string& text) override;
  void on_exchange_counted(Worker& w) override;
  void on_worker_exit(Worker& w, const ExitStatus& st) override;

  boost::asio::io_context& io_;
  Spawner& spawner_;
  Reaper& reaper_;
  Options opt_;
  Listener& listener_;
  const ClockSource& clock_;
  Phase phase_ = Phase::Starting;
  std::map<uint32_t, std::shared_ptr<Zygote>> zygotes_;
  Generations gens_;  // the active generation and the incoming one's state
  bool zygote_ever_ready_ = false;
  bool worker_ever_ready_ = false;
  std::string last_boot_error_;  // the last app traceback logged in full
  std::map<int, std::shared_ptr<Worker>> workers_;
  int next_worker_id_ = 1;
  uint32_t desired_;
  std::optional<uint32_t> budget_cap_;
  std::optional<MemoryUsage> zygote_memory_;  // the active zygote, sampled every memory_interval
  std::optional<uint64_t> worker_cost_;       // memory_budget: the largest USS a ready worker has shown
  uint64_t app_pss_ = 0;                      // the tree's PSS at the last sample
  bool budget_unmet_ = false;
  int recycle_victim_ = -1;  // the worker being replaced (serves until its replacement is ready)
  Backoff worker_backoff_;
  Backoff zygote_backoff_;
  boost::asio::steady_timer maintain_timer_;
  bool maintain_scheduled_ = false;
  boost::asio::steady_timer zygote_timer_;
  boost::asio::steady_timer stop_timer_;
  boost::asio::steady_timer memory_timer_;
  boost::asio::steady_timer tick_timer_;
  TimePoint last_scale_{};
  Reload reload_;
  Counters counters_;
  uint64_t restarts_ = 0;
  std::mt19937_64 rng_;
  AdmitFn admit_;
  WorkerSlot::Home* slot_home_ = nullptr;
  std::function<void(const Worker&)> ready_hook_;
  std::function<std::size_t()> queue_probe_;
  std::function<void()> on_stopped_;
};

const char* pool_phase_name(Pool::Phase p);
const char* reload_step_name(Pool::ReloadStep s);

}  // namespace hearth::supervisor
