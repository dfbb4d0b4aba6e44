#pragma once
// One process of a `command` upstream: COMMAND under `/bin/sh -c` (see
// shell_script()) with a free
// 127.0.0.1 port in $PORT (bound to port 0, read and closed just before the
// start) or a Unix socket path in $SOCKET. It runs in a session of its own
// (its process group is its pid), with SIGTERM as its parent death signal, so
// it never outlives the daemon; its stdout and stderr are one pipe read here
// and logged line by line with the upstream's name. The Reaper reports its exit.
//
// Lifetimes: owned by its UpstreamUnit; the exit callback and the log reader
// hold only a weak reference, so the unit may drop a process at any time.
#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "supervisor/reaper.h"
#include "supervisor/spawner.h"
#include "upstream/backend.h"

namespace hearth::upstream {

class UpstreamProcess : public std::enable_shared_from_this<UpstreamProcess> {
 public:
  // Its life.
  enum class State {
    Created,   // not started
    Running,   // spawned, not asked to stop
    Stopping,  // SIGTERM sent to its group; SIGKILL at the deadline
    Exited,    // reaped
  };
  struct Spec {
    std::string name;                 // the upstream's, for the log
    std::string command;
    std::vector<std::string> env;     // "K=V", complete except PORT/SOCKET
    std::string cwd;
    int uid = -1, gid = -1;
    bool socket = false;              // $SOCKET instead of $PORT
    std::string socket_dir;           // where the socket goes
    uint32_t generation = 1;
  };
  UpstreamProcess(boost::asio::io_context& io, supervisor::Spawner& spawner, supervisor::Reaper& reaper, Spec spec);
  ~UpstreamProcess();

  // Start-up of one process: "" or why it could not be spawned. `on_exit`
  // runs once when it is reaped (not after the process object is gone).
  [[nodiscard]] std::string start(std::function<void(const supervisor::ExitStatus&)> on_exit);
  // SIGTERM to its group, SIGKILL after `grace`; `done` once it is reaped
  // (at once when it is not running).
  void stop(std::chrono::milliseconds grace, std::function<void()> done);
  void kill_now();

  State state() const { return state_; }
  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }
  const std::string& socket_path() const { return socket_path_; }
  uint32_t generation() const { return spec_.generation; }
  // Where requests go: 127.0.0.1:PORT or unix:PATH.
  Server server() const;
  std::chrono::steady_clock::time_point started_at() const { return started_at_; }

 private:
  void do_read_output();
  void on_exited(const supervisor::ExitStatus& st);

  boost::asio::io_context& io_;
  supervisor::Spawner& spawner_;
  supervisor::Reaper& reaper_;
  Spec spec_;
  State state_ = State::Created;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string socket_path_;
  std::chrono::steady_clock::time_point started_at_{};
  boost::asio::posix::stream_descriptor output_;
  std::string out_buf_;
  char read_buf_[4096];
  boost::asio::steady_timer kill_timer_;
  std::function<void(const supervisor::ExitStatus&)> on_exit_;
  std::vector<std::function<void()>> stop_waiters_;
};

// The script `/bin/sh -c` runs: `command` in the background of a shell that
// forwards SIGTERM (the parent death signal, or a stop) to its process group
// and exits with the command's status.
std::string shell_script(const std::string& command);

// A free TCP port on 127.0.0.1 (bound to 0, read, closed), or 0.
uint16_t pick_free_port();

}  // namespace hearth::upstream
