#pragma once
// `hearthctl upgrade`: replace the running hearthd binary without refusing a
// connection (as nginx's USR2 and Envoy's hot restart do).
//
//   old hearthd                               new hearthd (its child)
//   fork + exec its own binary path, passing  adopts the sockets (LISTEN_FDS,
//   the listening sockets (fd 3..) and the    socket_activation.h), starts its
//   write end of a pipe (HEARTH_UPGRADE_FD)   zygote and workers, accepts
//                                             nothing until they are ready;
//   reads "READY\n" from the pipe     <------ then starts accepting and writes it
//   stops accepting, hands systemd the
//   main pid, drains in-flight requests,
//   stops its workers and exits 0.            keeps serving; re-parented to
//                                             init (systemd) or a subreaper.
//
// If the new process exits, closes the pipe or is not ready within the
// timeout, the upgrade fails: the old daemon keeps serving (the new one is
// sent SIGTERM) and hearthctl reports why.
#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "supervisor/reaper.h"
#include "supervisor/spawner.h"

namespace hearth::app {

struct HandoffSocket {
  int fd = -1;
  std::string name;  // "http", "admin" or "control"
};

// Pure: the new daemon's environment. Drops any LISTEN_*/HEARTH_UPGRADE_*/
// WATCHDOG_PID of ours and adds the hand-over variables; sockets go to fds
// 3..3+n-1 and the ready pipe to 3+n.
std::vector<std::string> upgrade_environment(const std::vector<std::string>& env,
                                             const std::vector<HandoffSocket>& sockets, pid_t parent);

// The new daemon's side: writes "READY\n" to the pipe and closes it.
void report_upgrade_ready(int fd);

class BinaryUpgrade {
 public:
  // Where an upgrade is.
  enum class State {
    Idle,      // none started (or the last one finished)
    Starting,  // the new process runs; waiting for READY on the pipe
    Failing,   // the pipe closed without READY: waiting briefly for the exit status
  };
  struct Result {
    bool ok = false;
    pid_t new_pid = -1;
    std::string message;  // one line
  };
  using Done = std::function<void(const Result&)>;

  BinaryUpgrade(boost::asio::io_context& io, supervisor::Spawner& spawner, supervisor::Reaper& reaper);
  ~BinaryUpgrade();
  BinaryUpgrade(const BinaryUpgrade&) = delete;
  BinaryUpgrade& operator=(const BinaryUpgrade&) = delete;

  // Starts `argv` (argv[0] the binary) with the sockets. Returns "" or why it
  // could not start (then done is never called); else done is called once.
  std::string start(std::vector<std::string> argv, const std::vector<HandoffSocket>& sockets,
                    std::chrono::milliseconds timeout, Done done);
  State state() const { return state_; }

 private:
  void do_read();
  void on_read(const boost::system::error_code& ec, std::size_t n);
  void fail(const std::string& why);
  void finish(Result r);

  boost::asio::io_context& io_;
  supervisor::Spawner& spawner_;
  supervisor::Reaper& reaper_;
  State state_ = State::Idle;
  pid_t pid_ = -1;
  std::optional<supervisor::ExitStatus> exit_;
  std::string pending_failure_;
  std::unique_ptr<boost::asio::posix::stream_descriptor> pipe_;
  boost::asio::steady_timer timer_;
  std::string buf_;
  char chunk_[64];
  Done done_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// This process's binary and arguments, from /proc/self (the binary path
// without " (deleted)": an upgraded package has replaced the file).
std::string self_exe_path();
std::vector<std::string> self_argv();

}  // namespace hearth::app
