#include "app/upgrade.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cstring>
#include <fstream>
#include <iterator>

#include "common/log.h"

extern char** environ;

namespace hearth::app {

namespace asio = boost::asio;

namespace {

constexpr std::chrono::milliseconds kExitWait{2000};  // after EOF, for the exit status

bool has_key(const std::string& kv, std::string_view key) {
  return kv.size() > key.size() && kv.compare(0, key.size(), key) == 0 && kv[key.size()] == '=';
}

}  // namespace

std::vector<std::string> upgrade_environment(const std::vector<std::string>& env,
                                             const std::vector<HandoffSocket>& sockets, pid_t parent) {
  std::vector<std::string> out;
  for (const auto& kv : env) {
    bool drop = false;
    for (std::string_view k : {"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "HEARTH_UPGRADE_FROM",
                               "HEARTH_UPGRADE_FD", "WATCHDOG_PID"})
      drop = drop || has_key(kv, k);
    if (!drop) out.push_back(kv);
  }
  std::string names;
  for (std::size_t i = 0; i < sockets.size(); ++i) names += (i ? ":" : "") + sockets[i].name;
  out.push_back("LISTEN_FDS=" + std::to_string(sockets.size()));
  out.push_back("LISTEN_FDNAMES=" + names);
  out.push_back("HEARTH_UPGRADE_FROM=" + std::to_string(parent));
  out.push_back("HEARTH_UPGRADE_FD=" + std::to_string(3 + sockets.size()));
  return out;
}

void report_upgrade_ready(int fd) {
  if (fd < 0) return;
  static const char kMsg[] = "READY\n";
  ssize_t n;
  do {
    n = ::write(fd, kMsg, sizeof kMsg - 1);
  } while (n < 0 && errno == EINTR);
  ::close(fd);
}

std::string self_exe_path() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return {};
  std::string p(buf, static_cast<std::size_t>(n));
  const std::string deleted = " (deleted)";
  if (p.size() > deleted.size() && p.compare(p.size() - deleted.size(), deleted.size(), deleted) == 0)
    p.resize(p.size() - deleted.size());
  return p;
}

std::vector<std::string> self_argv() {
  std::ifstream f("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < all.size()) {
    auto end = all.find('\0', start);
    if (end == std::string::npos) end = all.size();
    out.push_back(all.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

BinaryUpgrade::BinaryUpgrade(asio::io_context& io, supervisor::Spawner& spawner, supervisor::Reaper& reaper)
    : io_(io), spawner_(spawner), reaper_(reaper), timer_(io) {}

BinaryUpgrade::~BinaryUpgrade() {
  if (pid_ > 0) reaper_.unwatch(pid_);
}

std::string BinaryUpgrade::start(std::vector<std::string> argv, const std::vector<HandoffSocket>& sockets,
                                 std::chrono::milliseconds timeout, Done done) {
  if (state_ != State::Idle) return "an upgrade is already in progress";
  if (argv.empty() || argv[0].empty()) return "cannot tell this process's binary (/proc/self/exe)";
  if (::access(argv[0].c_str(), X_OK) != 0) return argv[0] + ": not executable: " + std::strerror(errno);
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return std::string("pipe: ") + std::strerror(errno);

  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) env.emplace_back(*e);
  supervisor::SpawnSpec spec;
  spec.argv = std::move(argv);
  spec.env = upgrade_environment(env, sockets, ::getpid());
  for (std::size_t i = 0; i < sockets.size(); ++i) spec.fd_map.emplace_back(sockets[i].fd, static_cast<int>(3 + i));
  spec.fd_map.emplace_back(p[1], static_cast<int>(3 + sockets.size()));
  spec.new_session = false;  // the same session and process group as this daemon
  supervisor::SpawnResult r = spawner_.spawn(spec);
  ::close(p[1]);
  if (r.pid < 0 || r.error) {
    ::close(p[0]);
    // A child whose exec failed exits 127; the reaper collects it.
    return "starting " + spec.argv[0] + " failed (" + r.what + "): " + r.error.message();
  }
  pid_ = r.pid;
  state_ = State::Starting;
  done_ = std::move(done);
  exit_.reset();
  buf_.clear();
  pipe_ = std::make_unique<asio::posix::stream_descriptor>(io_, p[0]);
  std::weak_ptr<bool> alive = alive_;
  reaper_.watch(pid_, [this, alive](const supervisor::ExitStatus& st) {
    if (alive.expired()) return;
    exit_ = st;
    if (state_ == State::Failing) fail(pending_failure_);
    else if (state_ == State::Idle) HLOG_CTX(Warn, "upgrade", "the new hearthd (pid " << st.pid << ") " << st.describe());
  });
  timer_.expires_after(timeout);
  timer_.async_wait([this, alive, timeout](const boost::system::error_code& ec) {
    if (ec || alive.expired()) return;
    if (state_ == State::Starting) {
      HLOG_CTX(Error, "upgrade", "the new hearthd (pid " << pid_ << ") was not ready within " << timeout.count()
                                                         << " ms; sending it SIGTERM");
      ::kill(pid_, SIGTERM);
      finish({false, pid_, "the new hearthd (pid " + std::to_string(pid_) + ") was not ready within " +
                               std::to_string(timeout.count()) + " ms; it was stopped, this one keeps serving"});
    } else if (state_ == State::Failing) {
      finish({false, pid_, pending_failure_});
    }
  });
  HLOG_CTX(Info, "upgrade", "started " << spec.argv[0] << " as pid " << pid_ << " with " << sockets.size()
                                       << " listening socket(s); waiting until it is ready");
  do_read();
  return {};
}

void BinaryUpgrade::do_read() {
  std::weak_ptr<bool> alive = alive_;
  pipe_->async_read_some(asio::buffer(chunk_), [this, alive](const boost::system::error_code& ec, std::size_t n) {
    if (alive.expired()) return;
    on_read(ec, n);
  });
}

void BinaryUpgrade::on_read(const boost::system::error_code& ec, std::size_t n) {
  if (state_ != State::Starting) return;
  if (!ec) {
    buf_.append(chunk_, n);
    if (buf_.find("READY\n") != std::string::npos) {
      HLOG_CTX(Info, "upgrade", "the new hearthd (pid " << pid_ << ") is ready");
      finish({true, pid_, "pid " + std::to_string(pid_) + " serves now; this one drains and exits"});
      return;
    }
    if (buf_.size() > 1024) buf_.clear();
    do_read();
    return;
  }
  // EOF (or an error): it exited or gave up before it was ready.
  fail("the new hearthd (pid " + std::to_string(pid_) + ") exited before it was ready");
}

void BinaryUpgrade::fail(const std::string& why) {
  pending_failure_ = why;
  if (exit_) {
    finish({false, pid_, why + " (" + exit_->describe() + "; see its log lines); this one keeps serving"});
    return;
  }
  if (state_ == State::Failing) return;
  state_ = State::Failing;
  std::weak_ptr<bool> alive = alive_;
  timer_.expires_after(kExitWait);
  timer_.async_wait([this, alive](const boost::system::error_code& ec) {
    if (ec || alive.expired() || state_ != State::Failing) return;
    ::kill(pid_, SIGTERM);
    finish({false, pid_, pending_failure_ + "; this one keeps serving"});
  });
}

void BinaryUpgrade::finish(Result r) {
  state_ = State::Idle;
  timer_.cancel();
  if (pipe_) {
    boost::system::error_code ec;
    pipe_->close(ec);
    pipe_.reset();
  }
  if (!r.ok) HLOG_CTX(Error, "upgrade", r.message);
  auto done = std::move(done_);
  done_ = nullptr;
  if (done) done(r);
}

}  // namespace hearth::app
