#pragma once
// One [[upstreams]] entry behind the daemon: its handler (UpstreamHandler),
// the Backend new requests go to, the active health checks and, for a
// `command` upstream, the process (UpstreamProcess): started at start(),
// ready when the health check passes, restarted with backoff when it exits,
// replaced blue/green by reload(), stopped at shutdown().
//
// Lifetimes: the Daemon owns every UpstreamUnit and outlives it; the unit
// owns its handler and processes; timers and probes hold weak references.
// Active checks run every health.interval on the current Backend's servers
// (a `command` upstream's one process included).
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "config/config.h"
#include "proxy/observed_sink.h"
#include "supervisor/backoff.h"
#include "supervisor/reaper.h"
#include "supervisor/spawner.h"
#include "upstream/upstream_handler.h"
#include "upstream/upstream_process.h"

namespace hearth::upstream {

class UpstreamUnit : public std::enable_shared_from_this<UpstreamUnit> {
 public:
  // The upstream's life as the daemon sees it.
  enum class State {
    Starting,    // command: the first process is not ready yet
    Running,     // serving (servers: always; command: a ready process takes requests)
    Restarting,  // command: the process exited; a new one starts after the backoff
    Stopped,     // shut down with the daemon
  };
  // A blue/green reload in progress (command upstreams).
  enum class Reload {
    Idle,      // none
    Booting,   // the new process is starting; the old one serves
    Draining,  // traffic switched; the old one finishes its requests
  };
  struct Shared {
    boost::asio::io_context& io;
    const ClockSource& clock;
    supervisor::Spawner& spawner;
    supervisor::Reaper& reaper;
    proxy::RequestObserver* observer = nullptr;
    std::vector<std::string> env;  // the daemon's environment, "K=V" (the command's base)
    std::string socket_dir;        // for `socket = true`
    bool via = false;
    std::function<void()> on_ready;  // (posted) the upstream became ready: serving() may have changed
    uint64_t ws_max_message_size = 1 << 20;  // websocket.max_message_size, for messages from the upstream
  };
  struct ReloadResult {
    bool ok = false;
    uint32_t generation = 0;
    double seconds = 0;
    std::string message;
  };

  UpstreamUnit(Shared shared, config::UpstreamConfig cfg);
  ~UpstreamUnit();

  // Start-up regime: "" or why the upstream cannot be served (a server
  // address that does not resolve, an unknown `user`).
  [[nodiscard]] std::string prepare(bool running_as_root);
  void start();
  void reload(std::function<void(const ReloadResult&)> done);
  // Stops the health checks and the process(es); `done` once they are reaped.
  void shutdown(std::function<void()> done);

  const std::string& name() const { return cfg_.name; }
  const config::UpstreamConfig& config() const { return cfg_; }
  UpstreamHandler& handler() { return handler_; }
  State state() const { return state_; }
  // /readyz: a ready process (command) or at least one server not marked down.
  bool ready() const;
  std::vector<pid_t> pids() const;
  // The `hearthctl status` document of this upstream (JSON object).
  std::string status_json() const;

 private:
  void start_servers_checks();
  void check_all();
  // command: a new process of generation `gen`; `ready(ok, why)` once its
  // health check passes, it exits or boot_timeout passes.
  std::shared_ptr<UpstreamProcess> launch(uint32_t gen, std::function<void(bool, const std::string&)> ready);
  void poll_ready(std::weak_ptr<UpstreamProcess> p, std::chrono::steady_clock::time_point deadline,
                  std::shared_ptr<std::function<void(bool, const std::string&)>> cb);
  void start_current();
  void on_current_exit(const std::shared_ptr<UpstreamProcess>& p, const supervisor::ExitStatus& st);
  void use(const std::shared_ptr<UpstreamProcess>& p);
  void drain_then_stop(std::shared_ptr<Backend> old_backend, std::shared_ptr<UpstreamProcess> old,
                       std::chrono::steady_clock::time_point deadline);
  void schedule(std::chrono::milliseconds after, std::function<void()> fn);

  Shared shared_;
  config::UpstreamConfig cfg_;
  UpstreamHandler handler_;
  State state_ = State::Starting;
  Reload reload_ = Reload::Idle;
  bool is_command_ = false;
  std::vector<Server> servers_;  // `servers` upstreams
  int uid_ = -1, gid_ = -1;
  // command: the process serving (or starting), and the one a reload boots.
  std::shared_ptr<UpstreamProcess> current_;
  std::shared_ptr<UpstreamProcess> next_;
  std::vector<std::shared_ptr<UpstreamProcess>> retiring_;  // draining or stopping
  bool current_ready_ = false;
  uint32_t generation_ = 0;
  uint64_t restarts_ = 0;
  supervisor::Backoff backoff_;
  boost::asio::steady_timer check_timer_;
  std::vector<boost::asio::steady_timer*> timers_;  // schedule()'s, cancelled at shutdown
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace hearth::upstream
