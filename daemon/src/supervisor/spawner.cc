#include "supervisor/spawner.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

// Boost 1.81's Process v2 headers rely on Boost.Filesystem's to include these;
// with BOOST_PROCESS_USE_STD_FS they must come first.
#include <boost/io/quoted.hpp>
#include <boost/optional.hpp>
#include <type_traits>
#include <boost/process/v2/posix/default_launcher.hpp>
#include <boost/process/v2/process.hpp>
#include <algorithm>
#include <exception>
#include <filesystem>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)  // Linux 5.11
#endif

namespace hearth::supervisor {
namespace {

namespace bp = boost::process::v2;

// Which step of the child's set-up failed. The launcher's pipe carries one int,
// the errno of the failure; a set-up step other than exec puts its number in the
// bits above errno's (errno values are below 4096), so the parent can say which.
enum class ChildStep : int {
  Exec = 0,     // execve itself (the launcher's own step)
  Setsid = 1,   // setsid()
  FdSetup = 2,  // duplicating a source fd or placing it on its target
  Chdir = 3,    // the working directory
  Identity = 4, // parent death signal, setgid/setuid
};
constexpr int kStepShift = 16;

const char* step_name(int step) {
  switch (static_cast<ChildStep>(step)) {
    case ChildStep::Exec: return "exec";
    case ChildStep::Setsid: return "setsid";
    case ChildStep::FdSetup: return "fd setup";
    case ChildStep::Chdir: return "chdir";
    case ChildStep::Identity: return "identity";
  }
  return "?";
}

// SpawnSpec's part of the child's set-up, a Boost.Process v2 initializer.
// on_setup runs in the parent before the fork; on_exec_setup and on_exec_error
// in the child between fork and exec, where only async-signal-safe calls belong
// (the daemon is single-threaded, but the rule keeps this safe either way).
class ChildSetup {
 public:
  ChildSetup(const SpawnSpec& spec, int max_target) : spec_(spec), max_target_(max_target), parent_(::getpid()) {}

  bp::error_code on_setup(bp::posix::default_launcher& launcher, const bp::filesystem::path&, const char* const*&) {
    // The targets stay open through the launcher's close_all(), which needs
    // its whitelist sorted: 0..2, then the targets, then (added by the
    // launcher) its error pipe, which lies above every target (reserve_low_fds).
    for (auto& [src, dst] : spec_.fd_map) {
      if (dst > 2) launcher.fd_whitelist.push_back(dst);
    }
    std::sort(launcher.fd_whitelist.begin(), launcher.fd_whitelist.end());
    launcher.fd_whitelist.erase(std::unique(launcher.fd_whitelist.begin(), launcher.fd_whitelist.end()),
                                launcher.fd_whitelist.end());
    return {};
  }

  bp::error_code on_exec_setup(bp::posix::default_launcher& launcher, const bp::filesystem::path&,
                               const char* const*&) {
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);
    for (int s = 1; s < NSIG; ++s) {
      if (s == SIGKILL || s == SIGSTOP) continue;
      signal(s, SIG_DFL);
    }
    if (spec_.new_session && ::setsid() < 0) return fail(ChildStep::Setsid);
    // Duplicate every source above the target range first, so a source equal to
    // another mapping's target is not clobbered by dup2. F_DUPFD picks free
    // numbers, so the launcher's error pipe is never hit either.
    int moved[kMaxMapped];
    const std::size_t n = spec_.fd_map.size();
    if (n > kMaxMapped) {
      errno = EMFILE;
      return fail(ChildStep::FdSetup);
    }
    for (std::size_t i = 0; i < n; ++i) {
      moved[i] = ::fcntl(spec_.fd_map[i].first, F_DUPFD_CLOEXEC, max_target_ + 1);
      if (moved[i] < 0) return fail(ChildStep::FdSetup);
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (::dup2(moved[i], spec_.fd_map[i].second) < 0) return fail(ChildStep::FdSetup);  // clears CLOEXEC
    }
    // Close every fd of the target range that is not a target. Above it, mark
    // everything close-on-exec rather than closing it: the launcher's error
    // pipe is there and must stay open until the exec (it is CLOEXEC already).
    // The launcher's close_all() closes from its pipe up as well, but in Boost
    // 1.81 it leaves the gaps between whitelisted fds open.
    for (int fd = 3; fd <= max_target_; ++fd) {
      bool keep = false;
      for (auto& [src, dst] : spec_.fd_map) keep = keep || dst == fd;
      if (!keep) ::close(fd);
    }
    if (::syscall(SYS_close_range, static_cast<unsigned>(max_target_ + 1), ~0u, CLOSE_RANGE_CLOEXEC) != 0) {
      // A kernel before 5.11: close what lies below the launcher's pipe (the
      // last of its whitelist); close_all() closes what lies above it.
      const int pipe_fd = launcher.fd_whitelist.back();
      for (int fd = max_target_ + 1; fd < pipe_fd; ++fd) ::close(fd);
    }
    if (!spec_.cwd.empty() && ::chdir(spec_.cwd.c_str()) != 0) return fail(ChildStep::Chdir);
    if (spec_.gid >= 0) {
      gid_t g = static_cast<gid_t>(spec_.gid);
      if (::setgroups(1, &g) != 0 || ::setgid(g) != 0) return fail(ChildStep::Identity);
    }
    if (spec_.uid >= 0 && ::setuid(static_cast<uid_t>(spec_.uid)) != 0) return fail(ChildStep::Identity);
    // After setuid: a change of credentials clears the parent death signal.
    if (spec_.parent_death_signal != 0 &&
        ::prctl(PR_SET_PDEATHSIG, static_cast<unsigned long>(spec_.parent_death_signal)) != 0)
      return fail(ChildStep::Identity);
    if (spec_.parent_death_signal != 0 && ::getppid() != parent_) _exit(127);  // the daemon died before prctl
    return {};
  }

  // After a failed set-up or exec the launcher has written errno to its pipe;
  // it would then call exit(), which runs the daemon's atexit handlers and
  // static destructors in this copy of it. _exit instead, with the shell's
  // "cannot execute" status. (A variadic template: Boost 1.81 detects this hook
  // with five arguments and calls it with four.)
  template <typename... Args>
  void on_exec_error(Args&&...) {
    _exit(127);
  }

  static constexpr std::size_t kMaxMapped = 64;

 private:
  // errno carries the failing step to the parent (see ChildStep).
  static bp::error_code fail(ChildStep step) {
    const int err = errno;
    errno = (static_cast<int>(step) << kStepShift) | err;
    return bp::error_code(err, bp::system_category());
  }

  const SpawnSpec& spec_;
  int max_target_;
  pid_t parent_;  // the daemon, for the parent death signal race
};

// The launcher makes its error pipe after the parent's lowest free fds; if one
// of those were a target, the child's dup2 would replace the pipe. Fills the
// free fds of 0..max_target with /dev/null (CLOEXEC) for the spawn's duration,
// so the pipe lands above every target. Returns the fds to close afterwards.
std::vector<int> reserve_low_fds(int max_target) {
  std::vector<int> held;
  for (int fd = 0; fd <= max_target; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    int placeholder = ::open("/dev/null", O_RDONLY | O_CLOEXEC);  // the lowest free fd: this one
    if (placeholder < 0) break;
    held.push_back(placeholder);
  }
  return held;
}

}  // namespace

SpawnResult PosixSpawner::spawn(const SpawnSpec& spec) {
  SpawnResult result;
  if (spec.argv.empty()) {
    result.error = std::make_error_code(std::errc::invalid_argument);
    result.what = "empty argv";
    return result;
  }
  if (spec.fd_map.size() > ChildSetup::kMaxMapped) {
    result.error = std::make_error_code(std::errc::too_many_files_open);
    result.what = "fd map";
    return result;
  }
  std::vector<const char*> argv;
  for (auto& a : spec.argv) argv.push_back(a.c_str());
  argv.push_back(nullptr);
  std::vector<const char*> envp;
  for (auto& e : spec.env) envp.push_back(e.c_str());
  envp.push_back(nullptr);
  int max_target = 2;
  for (auto& [src, dst] : spec.fd_map) max_target = std::max(max_target, dst);

  std::vector<int> held = reserve_low_fds(max_target);
  bp::posix::default_launcher launcher;
  launcher.env = envp.data();
  ChildSetup setup(spec, max_target);
  bp::error_code ec;
  const char** args = argv.data();  // argv[0] included: passed on as it is
  const pid_t parent = ::getpid();
  try {
    auto proc = launcher(io_.get_executor(), ec, std::filesystem::path(spec.argv[0]), args, setup);
    proc.detach();
  } catch (const std::exception& e) {
    // Asio's notify_fork() throws when it cannot re-create its epoll set (EMFILE):
    // in the child that must not return into a copy of the daemon.
    if (::getpid() != parent) _exit(127);
    // In the parent: the child, if any, may be running; the caller has its pid.
    if (!ec) ec = bp::error_code(EAGAIN, bp::system_category());
    result.what = std::string("spawn: ") + e.what();
  }
  for (int fd : held) ::close(fd);
  result.pid = launcher.pid;  // also after a failed exec: the child exists and must be reaped
  if (ec) {
    const int v = ec.value();
    result.error = std::error_code(v & ((1 << kStepShift) - 1), std::system_category());
    if (result.what.empty()) result.what = step_name(v >> kStepShift);
  }
  return result;
}

}  // namespace hearth::supervisor
