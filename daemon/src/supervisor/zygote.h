#pragma once
// The daemon's side of one zygote: the Python process that imports the app
// (when preloading) and forks workers on command. One per generation.
// Lifetime: owned by the Pool; the zygote process outlives none of its
// commands (it exits on SHUTDOWN, on control-socket EOF or death-pipe EOF).
#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "supervisor/protocol.h"
#include "supervisor/reaper.h"
#include "supervisor/spawner.h"

namespace hearth::supervisor {

struct ZygoteSpec {
  std::string python;
  std::string runtime_dir;   // contains hearth_zygote.py
  std::string app;
  bool preload = true;
  std::string chdir;
  std::vector<std::string> pythonpath;
  std::vector<std::string> env;  // complete environment, "K=V"
  uint32_t threads = 1;
  std::string interface = "wsgi";  // wsgi | asgi | auto (the zygote resolves auto when preloading)
  std::string lifespan = "auto";   // ASGI lifespan: auto | on | off
  uint32_t concurrency = 100;      // ASGI workers' slots
  uint32_t generation = 1;
  std::string log_name;  // [[apps]]: the app's name, before "zygote" in the log context ("" = none)
  int death_pipe_read_fd = -1;   // the daemon's death pipe (read end)
  std::string hook_pre_fork;     // "module:function" run in the zygote before each fork
  std::string hook_post_fork;    // run in each worker after the fork
  std::string hook_worker_exit;  // run in a worker as it exits
  bool capture_output = false;   // the app's stdout goes where the daemon's stderr goes (the error log)
};

class Zygote : public std::enable_shared_from_this<Zygote> {
 public:
  enum class State {
    Starting,  // spawned, waiting for ZYGOTE_READY
    Ready,     // takes FORK commands
    Failed,    // reported ZYGOTE_FAILED (import error); exiting
    Exited,    // reaped
  };
  struct Events {
    std::function<void(Zygote&)> on_ready;
    std::function<void(Zygote&, const std::string& traceback)> on_failed;
    std::function<void(Zygote&, int worker_id, pid_t pid)> on_forked;
    std::function<void(Zygote&, int worker_id, const std::string& error)> on_fork_failed;
    std::function<void(Zygote&, const ExitStatus&)> on_exit;
  };

  Zygote(boost::asio::io_context& io, Spawner& spawner, Reaper& reaper, ZygoteSpec spec, Events events);
  ~Zygote();

  // Spawns the process. Start-up errors (no such interpreter) are returned.
  [[nodiscard]] std::string start();
  // Sends FORK with the worker's slot sockets. Returns false if it could not be sent.
  [[nodiscard]] bool fork_worker(int worker_id, const std::vector<int>& fds);
  void shutdown();  // SHUTDOWN, then SIGKILL if it lingers
  void kill(int sig);

  State state() const { return state_; }
  pid_t pid() const { return pid_; }
  uint32_t generation() const { return spec_.generation; }
  bool threads_warning() const { return threads_after_import_ > 1; }
  int64_t import_ms() const { return import_ms_; }
  // Slot sockets per worker: ZYGOTE_READY's "slots" (threads for WSGI, concurrency for ASGI).
  uint32_t slots() const { return slots_; }
  // ZYGOTE_READY's "interface": "wsgi", "asgi", or "auto" (preload off: decided in each worker).
  const std::string& interface() const { return interface_; }

 private:
  std::string ctx() const { return spec_.log_name.empty() ? std::string("zygote") : spec_.log_name + " zygote"; }
  void do_read();
  void handle_frame(const FrameHeader& h, std::string_view payload);

  boost::asio::io_context& io_;
  Spawner& spawner_;
  Reaper& reaper_;
  ZygoteSpec spec_;
  Events events_;
  State state_ = State::Starting;
  pid_t pid_ = -1;
  boost::asio::local::stream_protocol::socket control_;
  FrameDecoder decoder_;
  std::array<char, 8192> rbuf_{};
  int64_t threads_after_import_ = 0;
  int64_t import_ms_ = 0;
  uint32_t slots_ = 1;
  std::string interface_ = "wsgi";
};

const char* zygote_state_name(Zygote::State s);

}  // namespace hearth::supervisor
