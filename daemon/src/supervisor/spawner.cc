#include "supervisor/spawner.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

namespace hearth::supervisor {
namespace {

// Only async-signal-safe calls between fork and exec.
[[noreturn]] void child_fail(int pipe_fd, int step, int err) {
  int msg[2] = {step, err};
  (void)!::write(pipe_fd, msg, sizeof msg);
  _exit(127);
}

}  // namespace

SpawnResult PosixSpawner::spawn(const SpawnSpec& spec) {
  SpawnResult result;
  if (spec.argv.empty()) {
    result.error = std::make_error_code(std::errc::invalid_argument);
    result.what = "empty argv";
    return result;
  }
  std::vector<char*> argv;
  for (auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  int errpipe[2];
  if (::pipe2(errpipe, O_CLOEXEC) != 0) {
    result.error = std::error_code(errno, std::system_category());
    result.what = "pipe";
    return result;
  }
  // Duplicate the sources above the target range first, so a source equal to
  // another mapping's target is not clobbered by dup2.
  int max_target = 2;
  for (auto& [src, dst] : spec.fd_map) max_target = std::max(max_target, dst);

  pid_t pid = ::fork();
  if (pid < 0) {
    result.error = std::error_code(errno, std::system_category());
    result.what = "fork";
    ::close(errpipe[0]);
    ::close(errpipe[1]);
    return result;
  }
  if (pid == 0) {
    // Child.
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);
    for (int s = 1; s < NSIG; ++s) {
      if (s == SIGKILL || s == SIGSTOP) continue;
      signal(s, SIG_DFL);
    }
    int base = max_target + 1;
    // Keep the error pipe above every target so the dup2 calls cannot hit it.
    int err_fd = ::fcntl(errpipe[1], F_DUPFD_CLOEXEC, base);
    if (err_fd < 0) _exit(127);
    base = err_fd + 1;
    if (spec.new_session && ::setsid() < 0) child_fail(err_fd, 1, errno);
    std::vector<std::pair<int, int>> moved;  // {temp fd, target}
    moved.reserve(spec.fd_map.size());
    for (auto& [src, dst] : spec.fd_map) {
      int tmp = ::fcntl(src, F_DUPFD_CLOEXEC, base);
      if (tmp < 0) child_fail(err_fd, 2, errno);
      moved.emplace_back(tmp, dst);
    }
    for (auto& [tmp, dst] : moved) {
      if (::dup2(tmp, dst) < 0) child_fail(err_fd, 3, errno);  // dup2 clears CLOEXEC
    }
    // Close everything but stdio, the targets and the error pipe (CLOEXEC).
    for (int fd = 3; fd <= max_target; ++fd) {
      bool keep = false;
      for (auto& [tmp, dst] : moved) keep = keep || dst == fd;
      if (!keep) ::close(fd);
    }
    if (err_fd > max_target + 1)
      ::syscall(SYS_close_range, static_cast<unsigned>(max_target + 1), static_cast<unsigned>(err_fd - 1), 0u);
    ::syscall(SYS_close_range, static_cast<unsigned>(err_fd + 1), ~0u, 0u);
    if (!spec.cwd.empty() && ::chdir(spec.cwd.c_str()) != 0) child_fail(err_fd, 4, errno);
    ::execve(argv[0], argv.data(), envp.data());
    child_fail(err_fd, 5, errno);
  }
  ::close(errpipe[1]);
  int msg[2] = {0, 0};
  ssize_t n;
  do {
    n = ::read(errpipe[0], msg, sizeof msg);
  } while (n < 0 && errno == EINTR);
  ::close(errpipe[0]);
  result.pid = pid;
  if (n == static_cast<ssize_t>(sizeof msg)) {
    result.error = std::error_code(msg[1], std::system_category());
    static const char* const kSteps[] = {"?", "setsid", "fd setup", "fd setup", "chdir", "exec"};
    result.what = kSteps[(msg[0] >= 1 && msg[0] <= 5) ? msg[0] : 0];
  }
  return result;
}

}  // namespace hearth::supervisor
