#include "supervisor/reaper.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <boost/asio/post.hpp>

#include "common/log.h"

namespace hearth::supervisor {

bool ExitStatus::exited() const { return WIFEXITED(raw); }
int ExitStatus::exit_code() const { return WEXITSTATUS(raw); }
bool ExitStatus::signaled() const { return WIFSIGNALED(raw); }
int ExitStatus::signal() const { return WTERMSIG(raw); }
std::string ExitStatus::describe() const {
  if (exited()) return "exit " + std::to_string(exit_code());
  if (signaled()) {
    const char* abbrev = sigabbrev_np(signal());
    return std::string("killed by SIG") + (abbrev ? abbrev : std::to_string(signal()).c_str());
  }
  return "status " + std::to_string(raw);
}

Reaper::Reaper(boost::asio::io_context& io, bool become_subreaper) : io_(io), sigchld_(io, SIGCHLD) {
  if (become_subreaper && ::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    HLOG(Warn, "prctl(PR_SET_CHILD_SUBREAPER) failed: " << strerror(errno)
                   << "; workers' exits will be noticed by their sockets only");
  }
  do_wait_signal();
}

void Reaper::do_wait_signal() {
  sigchld_.async_wait([this](const boost::system::error_code& ec, int) {
    if (ec) return;
    reap_now();
    do_wait_signal();
  });
}

void Reaper::watch(pid_t pid, Callback cb) {
  for (auto it = unclaimed_.begin(); it != unclaimed_.end(); ++it) {
    if (it->pid == pid) {
      ExitStatus st = *it;
      unclaimed_.erase(it);
      boost::asio::post(io_, [cb = std::move(cb), st] { cb(st); });
      return;
    }
  }
  watchers_[pid] = std::move(cb);
}

void Reaper::unwatch(pid_t pid) { watchers_.erase(pid); }

void Reaper::reap_now() {
  while (true) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;
    ExitStatus st{pid, status};
    auto it = watchers_.find(pid);
    if (it != watchers_.end()) {
      Callback cb = std::move(it->second);
      watchers_.erase(it);
      cb(st);
    } else {
      HLOG(Debug, "reaped unwatched pid " << pid << " (" << st.describe() << ")");
      unclaimed_.push_back(st);
      if (unclaimed_.size() > 256) unclaimed_.pop_front();
    }
  }
}

}  // namespace hearth::supervisor
