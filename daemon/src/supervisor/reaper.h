#pragma once
// The one component that reaps. hearthd is a child subreaper, so workers
// double-forked by the zygote (and anything an app leaves behind) become its
// children. On SIGCHLD (delivered through Asio, never handled in a signal
// handler) it loops waitpid(-1, WNOHANG) and hands each exit to whoever
// watch()es that pid; unwatched exits are remembered briefly in case the watch
// arrives after the exit (a worker can die before FORKED reaches us).
#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <deque>
#include <functional>
#include <string>
#include <unordered_map>

namespace hearth::supervisor {

struct ExitStatus {
  pid_t pid = -1;
  int raw = 0;  // from waitpid
  bool exited() const;
  int exit_code() const;  // valid when exited()
  bool signaled() const;
  int signal() const;     // valid when signaled()
  std::string describe() const;  // "exit 3", "killed by SIGKILL"
};

class Reaper {
 public:
  using Callback = std::function<void(const ExitStatus&)>;
  // become_subreaper: set PR_SET_CHILD_SUBREAPER (production); tests may skip.
  Reaper(boost::asio::io_context& io, bool become_subreaper);
  Reaper(const Reaper&) = delete;
  Reaper& operator=(const Reaper&) = delete;

  // Calls cb once when pid exits (at once, via post, if it already did).
  void watch(pid_t pid, Callback cb);
  void unwatch(pid_t pid);
  // Reap whatever has exited now (also called on every SIGCHLD).
  void reap_now();
  std::size_t watched() const { return watchers_.size(); }

 private:
  void do_wait_signal();

  boost::asio::io_context& io_;
  boost::asio::signal_set sigchld_;
  std::unordered_map<pid_t, Callback> watchers_;
  std::deque<ExitStatus> unclaimed_;  // bounded
};

}  // namespace hearth::supervisor
