#pragma once
// Starting child processes is injected, so supervision can be tested with a
// fake. The real spawner fork()s and exec()s with an exact fd map and a new
// session; it never waits: the Reaper is the only component that reaps.
#include <sys/types.h>

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

// fork + exec. Reports exec failures (missing interpreter, EACCES) through a
// CLOEXEC pipe, so a bad `python` setting is a clear error, not a silent exit.
class PosixSpawner final : public Spawner {
 public:
  SpawnResult spawn(const SpawnSpec& spec) override;
};

}  // namespace hearth::supervisor
