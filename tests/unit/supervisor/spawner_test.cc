#include "supervisor/spawner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <cerrno>
#include <set>
#include <sstream>
#include <string>

namespace hearth::supervisor {
namespace {

// A pipe whose ends close themselves.
struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) ADD_FAILURE() << "pipe2";
    r = fds[0];
    w = fds[1];
  }
  // Moves both ends to fds >= min_fd (away from numbers a test uses as targets).
  void move_above(int min_fd) {
    int nr = ::fcntl(r, F_DUPFD_CLOEXEC, min_fd);
    int nw = ::fcntl(w, F_DUPFD_CLOEXEC, min_fd);
    ::close(r);
    ::close(w);
    r = nr;
    w = nw;
  }
  ~Pipe() {
    close_r();
    close_w();
  }
  void close_r() {
    if (r >= 0) ::close(r);
    r = -1;
  }
  void close_w() {
    if (w >= 0) ::close(w);
    w = -1;
  }
  // Reads until EOF (every write end closed).
  std::string read_all() {
    std::string out;
    char buf[4096];
    while (true) {
      ssize_t n = ::read(r, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }
};

// Waits for pid and returns its raw status.
int reap(pid_t pid) {
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid, &status, 0);
  } while (r < 0 && errno == EINTR);
  EXPECT_EQ(r, pid);
  return status;
}

SpawnSpec sh(const std::string& script) {
  SpawnSpec s;
  s.argv = {"/bin/sh", "-c", script};
  s.env = {"PATH=/usr/bin:/bin"};
  return s;
}

TEST(PosixSpawner, FdMapDeliversPipeAsFd3) {
  Pipe p;
  SpawnSpec spec = sh("echo hello from child >&3");
  spec.fd_map = {{p.w, 3}};
  boost::asio::io_context io;
  PosixSpawner spawner(io);
  SpawnResult r = spawner.spawn(spec);
  ASSERT_FALSE(r.error) << r.what << ": " << r.error.message();
  ASSERT_GT(r.pid, 0);
  EXPECT_EQ(r.what, "");
  p.close_w();
  EXPECT_EQ(p.read_all(), "hello from child\n");
  int st = reap(r.pid);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0);
}

TEST(PosixSpawner, MissingProgramReportsExecFailure) {
  SpawnSpec spec;
  spec.argv = {"/nonexistent/hearth-no-such-program", "--x"};
  boost::asio::io_context io;
  PosixSpawner spawner(io);
  SpawnResult r = spawner.spawn(spec);
  EXPECT_EQ(r.error, std::error_code(ENOENT, std::system_category()));
  EXPECT_EQ(r.what, "exec");
  ASSERT_GT(r.pid, 0);  // the child existed and must still be reaped
  int st = reap(r.pid);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 127);
}

TEST(PosixSpawner, NonExecutableReportsEacces) {
  // Even root cannot exec a file without any x bit.
  char path[] = "/tmp/hearth-spawner-noexec-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "#!/bin/sh\n", 10), 10);
  ::close(fd);
  ASSERT_EQ(::chmod(path, 0644), 0);
  SpawnSpec spec;
  spec.argv = {path};
  boost::asio::io_context io;
  PosixSpawner spawner(io);
  SpawnResult r = spawner.spawn(spec);
  ::unlink(path);
  EXPECT_EQ(r.error, std::error_code(EACCES, std::system_category()));
  EXPECT_EQ(r.what, "exec");
  if (r.pid > 0) reap(r.pid);
}

TEST(PosixSpawner, EmptyArgvIsAnError) {
  boost::asio::io_context io;
  PosixSpawner spawner(io);
  SpawnResult r = spawner.spawn(SpawnSpec{});
  EXPECT_EQ(r.error, std::make_error_code(std::errc::invalid_argument));
  EXPECT_EQ(r.what, "empty argv");
  EXPECT_EQ(r.pid, -1);
}

TEST(PosixSpawner, BadCwdReportsChdir) {
  SpawnSpec spec = sh("true");
  spec.cwd = "/nonexistent/hearth-dir";
  boost::asio::io_context io;
  PosixSpawner spawner(io);
  SpawnResult r = spawner.spawn(spec);
  EXPECT_EQ(r.error, std::error_code(ENOENT, std::system_category()));
  EXPECT_EQ(r.what, "chdir");
  ASSERT_GT(r.pid, 0);
  reap(r.pid);
}

TEST(PosixSpawner, EnvAndCwdApplied) {
  Pipe p;
  SpawnSpec spec = sh("echo \"$FOO|$HOME|$(pwd)\" >&3");
  spec.env = {"FOO=bar baz", "PATH=/usr/bin:/bin"};
  spec.cwd = "/tmp";
  spec.fd_map = {{p.w, 3}};
  boost::asio::io_context io;
  PosixSpawner spawner(io);
  SpawnResult r = spawner.spawn(spec);
  ASSERT_FALSE(r.error) << r.what;
  p.close_w();
  // HOME is not inherited: the spec's env is the complete environment.
  EXPECT_EQ(p.read_all(), "bar baz||/tmp\n");
  reap(r.pid);
}

TEST(PosixSpawner, FdsNotInTheMapAreClosed) {
  if (::fcntl(5, F_GETFD) != -1) GTEST_SKIP() << "fd 5 in use";
  Pipe p, p6;
  p.move_above(20);
  p6.move_above(20);
  // Inheritable fds (no CLOEXEC): one far above the targets, one inside the target range.
  int leak_high = ::fcntl(p.w, F_DUPFD, 40);
  ASSERT_GE(leak_high, 40);
  int devnull = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC
  ASSERT_GE(devnull, 0);
  int leak_low = ::dup2(devnull, 5);
  ASSERT_EQ(leak_low, 5);
  ::close(devnull);
  // Targets 3 and 6: fds 4 and 5 lie inside the target range and must be closed too.
  // `ls` lists the fds of the shell ($$), which holds exactly what the spawner
  // left open (`exec >&3` redirects without the shell saving a copy of fd 1).
  SpawnSpec spec = sh("exec >&3; ls /proc/$$/fd; exit 0");
  spec.fd_map = {{p.w, 3}, {p6.w, 6}};
  boost::asio::io_context io;
  PosixSpawner spawner(io);
  SpawnResult r = spawner.spawn(spec);
  ::close(leak_high);
  ::close(leak_low);
  ASSERT_FALSE(r.error) << r.what;
  p.close_w();
  p6.close_w();
  std::string out = p.read_all();
  reap(r.pid);
  std::set<int> fds;
  std::istringstream in(out);
  for (int fd; in >> fd;) fds.insert(fd);
  EXPECT_EQ(fds, (std::set<int>{0, 1, 2, 3, 6})) << out;  // not 4, 5 (in range) nor 40
}

TEST(PosixSpawner, SwappedFdMapDoesNotClobber) {
  // Parent fd 7 must become child fd 8 and parent fd 8 child fd 7.
  if (::fcntl(7, F_GETFD) != -1 || ::fcntl(8, F_GETFD) != -1) GTEST_SKIP() << "fds 7/8 in use";
  Pipe a, b;
  a.move_above(20);
  b.move_above(20);
  ASSERT_EQ(::dup2(a.w, 7), 7);
  ASSERT_EQ(::dup2(b.w, 8), 8);
  a.close_w();
  b.close_w();
  SpawnSpec spec = sh("echo A >&8; echo B >&7");
  spec.fd_map = {{7, 8}, {8, 7}};
  boost::asio::io_context io;
  PosixSpawner spawner(io);
  SpawnResult r = spawner.spawn(spec);
  ::close(7);
  ::close(8);
  ASSERT_FALSE(r.error) << r.what;
  EXPECT_EQ(a.read_all(), "A\n");
  EXPECT_EQ(b.read_all(), "B\n");
  int st = reap(r.pid);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

TEST(PosixSpawner, NewSessionMakesSessionLeader) {
  // The child blocks on stdin (a pipe) so it is alive while we look at it.
  Pipe in;
  SpawnSpec spec = sh("read x");
  spec.fd_map = {{in.r, 0}};
  spec.new_session = true;
  boost::asio::io_context io;
  PosixSpawner spawner(io);
  SpawnResult r = spawner.spawn(spec);
  ASSERT_FALSE(r.error) << r.what;
  // spawn() returns after exec succeeded, so setsid() has already happened.
  EXPECT_EQ(::getsid(r.pid), r.pid);
  EXPECT_EQ(::getpgid(r.pid), r.pid);
  in.close_w();  // EOF: `read` returns and the shell exits
  reap(r.pid);
}

TEST(PosixSpawner, WithoutNewSessionSharesOurSession) {
  Pipe in;
  SpawnSpec spec = sh("read x");
  spec.fd_map = {{in.r, 0}};
  spec.new_session = false;
  boost::asio::io_context io;
  PosixSpawner spawner(io);
  SpawnResult r = spawner.spawn(spec);
  ASSERT_FALSE(r.error) << r.what;
  EXPECT_EQ(::getsid(r.pid), ::getsid(0));
  EXPECT_NE(::getsid(r.pid), r.pid);
  in.close_w();
  reap(r.pid);
}

TEST(PosixSpawner, ExecFailureReportedWhenTheLowestFreeFdsAreTargets) {
  // Boost.Process makes its error pipe from the lowest free fds; were those
  // targets, the child's dup2 would replace the pipe and a failed exec would
  // look like a success. The spawner fills such holes for the spawn.
  int low = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(low, 3);
  ::close(low);
  if (::fcntl(low + 1, F_GETFD) != -1) GTEST_SKIP() << "fd " << low + 1 << " in use";
  Pipe p;
  p.move_above(low + 20);
  SpawnSpec spec;
  spec.argv = {"/nonexistent/hearth-no-such-program"};
  spec.fd_map = {{p.w, low}, {p.w, low + 1}};
  boost::asio::io_context io;
  PosixSpawner spawner(io);
  SpawnResult r = spawner.spawn(spec);
  EXPECT_EQ(r.error, std::error_code(ENOENT, std::system_category()));
  EXPECT_EQ(r.what, "exec");
  ASSERT_GT(r.pid, 0);
  EXPECT_EQ(::fcntl(low, F_GETFD), -1) << "the placeholders are closed again";
  reap(r.pid);
}

TEST(PosixSpawner, ChildOutlivesTheSpawnAndSignalsAreLeftAsTheyWere) {
  // Boost.Process kills its child when the process object dies unless it is
  // detached; here the child must run on, for the Reaper to collect.
  struct sigaction before {};
  ASSERT_EQ(::sigaction(SIGCHLD, nullptr, &before), 0);
  Pipe in;
  SpawnSpec spec = sh("read x");
  spec.fd_map = {{in.r, 0}};
  boost::asio::io_context io;
  PosixSpawner spawner(io);
  SpawnResult r = spawner.spawn(spec);
  ASSERT_FALSE(r.error) << r.what;
  int status = 0;
  EXPECT_EQ(::waitpid(r.pid, &status, WNOHANG), 0) << "the child is still running";
  EXPECT_EQ(::kill(r.pid, 0), 0);
  struct sigaction after {};
  ASSERT_EQ(::sigaction(SIGCHLD, nullptr, &after), 0);
  EXPECT_EQ(after.sa_handler, before.sa_handler);
  in.close_w();  // EOF: `read` fails and the shell exits
  int st = reap(r.pid);
  EXPECT_TRUE(WIFEXITED(st)) << "exited by itself, not killed";
}

TEST(PosixSpawner, ChildExitCodePassesThrough) {
  boost::asio::io_context io;
  PosixSpawner spawner(io);
  SpawnResult r = spawner.spawn(sh("exit 42"));
  ASSERT_FALSE(r.error);
  int st = reap(r.pid);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 42);
}

}  // namespace
}  // namespace hearth::supervisor
