#pragma once
// Supervises one application: its zygote and workers. Keeps `workers` of them
// ready, respawns with backoff, stops them in order. Hands free request slots
// to a Listener (the dispatcher). Lifetime: the Pool outlives its Zygote and
// Workers; a Worker outlives its slots' exchanges.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "supervisor/backoff.h"
#include "supervisor/reaper.h"
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
    Stopped,   // zygote and all workers have exited
  };
  struct Options {
    ZygoteSpec zygote;
    uint32_t workers = 1;
    std::chrono::milliseconds request_timeout{30000};
    std::chrono::milliseconds boot_timeout{120000};
    std::chrono::milliseconds graceful_timeout{30000};
  };
  class Listener {
   public:
    virtual ~Listener() = default;
    virtual void on_slot_free(std::shared_ptr<WorkerSlot> slot) = 0;
    // The app cannot start at all (import error at start-up): the daemon exits.
    virtual void on_fatal(const std::string& message) = 0;
  };
  struct WorkerInfo {
    int id;
    pid_t pid;
    uint32_t generation;
    const char* state;
    uint64_t requests;
    double age_s;
    int64_t boot_ms;
    std::size_t busy_slots;
    std::size_t slots;
    std::string current_request;  // "GET /x" of the longest-running slot
    int64_t current_ms;
  };
  struct Status {
    const char* phase;
    uint32_t generation;
    pid_t zygote_pid;
    const char* zygote_state;
    uint32_t desired;
    std::size_t ready;
    uint64_t restarts;
    bool crash_loop;
    std::vector<WorkerInfo> workers;
  };

  Pool(boost::asio::io_context& io, Spawner& spawner, Reaper& reaper, Options options, Listener& listener);
  ~Pool();

  void start();
  // Graceful: workers finish in-flight requests within graceful_timeout, then TERM/KILL.
  void shutdown(std::function<void()> done);
  std::size_t ready_workers() const;
  Phase phase() const { return phase_; }
  Status status() const;
  std::vector<pid_t> pids() const;  // zygote + workers, for emergency kill

 private:
  void start_zygote();
  void maintain();
  void schedule_maintain(std::chrono::milliseconds delay);
  void spawn_worker();
  void check_stopped();
  void on_worker_ready(Worker& w) override;
  void on_worker_boot_failed(Worker& w, const std::string& text) override;
  void on_slot_free(std::shared_ptr<WorkerSlot> slot) override;
  void on_worker_exit(Worker& w, const ExitStatus& st) override;

  boost::asio::io_context& io_;
  Spawner& spawner_;
  Reaper& reaper_;
  Options opt_;
  Listener& listener_;
  Phase phase_ = Phase::Starting;
  std::shared_ptr<Zygote> zygote_;
  bool zygote_ever_ready_ = false;
  bool worker_ever_ready_ = false;
  std::map<int, std::shared_ptr<Worker>> workers_;
  int next_worker_id_ = 1;
  Backoff worker_backoff_;
  Backoff zygote_backoff_;
  boost::asio::steady_timer maintain_timer_;
  bool maintain_scheduled_ = false;
  boost::asio::steady_timer zygote_timer_;
  boost::asio::steady_timer stop_timer_;
  uint64_t restarts_ = 0;
  std::function<void()> on_stopped_;
};

const char* pool_phase_name(Pool::Phase p);

}  // namespace hearth::supervisor
