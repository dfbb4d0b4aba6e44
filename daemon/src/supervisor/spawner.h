#pragma once
// Starting child processes is injected, so supervision can be tested with a
// fake. The real spawner starts a program (fork + exec) with an exact fd map and
// a new session through Boost.Process v2; it never waits: the Reaper is the only
// component that reaps.
#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace hearth::supervisor {

struct SpawnSpec {
  std::vector<std::string> argv;               // argv[0] is the program path
  std::vector<std::string> env;                // "KEY=VALUE", the complete environment
  std::vector<std::pair<int, int>> fd_map;     // {fd in the daemon, fd number in the child}
  std::string cwd;                             // "" = inherit
  bool new_session = true;                     // setsid(): a terminal's Ctrl-C reaches only the daemon
  int parent_death_signal = 0;                 // PR_SET_PDEATHSIG (0 = none): for children that cannot
                                               // watch the death pipe ([[upstreams]] commands)
  int uid = -1, gid = -1;                      // >= 0: setgroups/setgid/setuid before exec (as root only)
};

struct SpawnResult {
  pid_t pid = -1;
  std::error_code error;  // set when the fork or the exec failed
  std::string what;       // which step failed
};

class Spawner {
 public:
  virtual ~Spawner() = default;
  virtual SpawnResult spawn(const SpawnSpec& spec) = 0;
};

// Boost.Process v2's posix default_launcher (fork + execve), with one
// initializer for what SpawnSpec adds: signals reset, setsid(), the fd map,
// every other fd closed, the working directory. The launcher reports a failure
// in the child (a missing interpreter, EACCES, a bad cwd) through its CLOEXEC
// pipe, so a bad `python` setting is a clear error, not a silent exit.
//
// The process object is detached at once: Process v2 kills and waits for its
// child when the object is destroyed, and here the Reaper owns every exit.
// Process v2 is built without pidfd_open (BOOST_PROCESS_V2_DISABLE_PIDFD_OPEN,
// supervisor/CMakeLists.txt): the handle is never waited on, and valgrind
// (bench/instructions.py runs hearthd under callgrind) does not know that system
// call. The handle then holds an Asio signal_set for SIGCHLD while it exists,
// which must live on the daemon's own io_context: Asio refuses signal handling
// to a second context when one runs without locks (CONCURRENCY_HINT_UNSAFE).
//
// The launcher calls notify_fork() on that context around the fork: in the
// parent Asio takes its signal pipe out of the epoll set and puts it back; in
// the child it re-creates its epoll set, which the exec then closes.
// Zygotes fork workers without exec; that is the zygote's own fork
// (plugins/python/hearth_worker/zygote.py, os.fork), not this class.
class PosixSpawner final : public Spawner {
 public:
  explicit PosixSpawner(boost::asio::io_context& io) : io_(io) {}
  SpawnResult spawn(const SpawnSpec& spec) override;

 private:
  boost::asio::io_context& io_;
};

}  // namespace hearth::supervisor
