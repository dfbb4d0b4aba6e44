#include "upstream/upstream_process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <cstring>

#include "common/log.h"

namespace hearth::upstream {

namespace asio = boost::asio;

uint16_t pick_free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

std::string shell_script(const std::string& command) {
  // The shell does not exec the command (dash forks even a simple one), so
  // the parent death signal would reach only the shell: on SIGTERM it
  // passes the signal to its whole process group, then dies of it.
  return "trap 'trap - TERM; kill -TERM 0' TERM\n{\n" + command + "\n} &\nwait $!\n";
}

UpstreamProcess::UpstreamProcess(asio::io_context& io, supervisor::Spawner& spawner, supervisor::Reaper& reaper,
                                 Spec spec)
    : io_(io), spawner_(spawner), reaper_(reaper), spec_(std::move(spec)), output_(io), kill_timer_(io) {}

UpstreamProcess::~UpstreamProcess() {
  // The Reaper's callback holds a weak reference: no unwatch (the Reaper may
  // already be gone when a handler holding the last reference is destroyed).
  if (state_ == State::Running || state_ == State::Stopping) ::kill(-pid_, SIGKILL);
  if (!socket_path_.empty()) ::unlink(socket_path_.c_str());
}

Server UpstreamProcess::server() const {
  Server s;
  if (spec_.socket) {
    s.endpoint = Endpoint(asio::local::stream_protocol::endpoint(socket_path_));
    s.label = "unix:" + socket_path_;
    s.host = "localhost";
  } else {
    s.endpoint = Endpoint(asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), port_));
    s.label = "127.0.0.1:" + std::to_string(port_);
    s.host = s.label;
  }
  return s;
}

std::string UpstreamProcess::start(std::function<void(const supervisor::ExitStatus&)> on_exit) {
  supervisor::SpawnSpec s;
  s.argv = {"/bin/sh", "-c", shell_script(spec_.command)};
  s.env = spec_.env;
  if (spec_.socket) {
    socket_path_ = spec_.socket_dir + "/hearth-" + std::to_string(::getpid()) + "-" + spec_.name + "-" +
                   std::to_string(spec_.generation) + ".sock";
    ::unlink(socket_path_.c_str());
    s.env.push_back("SOCKET=" + socket_path_);
  } else {
    port_ = pick_free_port();
    if (port_ == 0) return std::string("no free port on 127.0.0.1: ") + std::strerror(errno);
    s.env.push_back("PORT=" + std::to_string(port_));
  }
  s.cwd = spec_.cwd;
  s.uid = spec_.uid;
  s.gid = spec_.gid;
  s.parent_death_signal = SIGTERM;
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return std::string("pipe: ") + std::strerror(errno);
  s.fd_map = {{p[1], STDOUT_FILENO}, {p[1], STDERR_FILENO}};
  supervisor::SpawnResult r = spawner_.spawn(s);
  ::close(p[1]);
  if (r.pid < 0) {
    ::close(p[0]);
    return r.what + ": " + r.error.message();
  }
  pid_ = r.pid;
  state_ = State::Running;
  started_at_ = std::chrono::steady_clock::now();
  on_exit_ = std::move(on_exit);
  output_.assign(p[0]);
  do_read_output();
  std::weak_ptr<UpstreamProcess> weak = weak_from_this();
  reaper_.watch(pid_, [weak](const supervisor::ExitStatus& st) {
    if (auto self = weak.lock()) self->on_exited(st);
  });
  HLOG_CTX(Info, spec_.name, "started pid " << pid_ << " (generation " << spec_.generation << ") on "
                                          << server().label << ": " << spec_.command);
  return "";
}

void UpstreamProcess::do_read_output() {
  std::weak_ptr<UpstreamProcess> weak = weak_from_this();
  output_.async_read_some(asio::buffer(read_buf_), [weak](const boost::system::error_code& ec, std::size_t n) {
    auto self = weak.lock();
    if (!self) return;
    self->out_buf_.append(self->read_buf_, n);
    std::size_t nl;
    while ((nl = self->out_buf_.find('\n')) != std::string::npos || self->out_buf_.size() > 8192) {
      std::size_t len = nl == std::string::npos ? self->out_buf_.size() : nl;
      HLOG_CTX(Info, self->spec_.name, self->out_buf_.substr(0, len));
      self->out_buf_.erase(0, nl == std::string::npos ? len : len + 1);
    }
    if (ec) {
      if (!self->out_buf_.empty()) HLOG_CTX(Info, self->spec_.name, self->out_buf_);
      self->out_buf_.clear();
      boost::system::error_code ignored;
      self->output_.close(ignored);
      return;
    }
    self->do_read_output();
  });
}

void UpstreamProcess::on_exited(const supervisor::ExitStatus& st) {
  State was = state_;
  state_ = State::Exited;
  kill_timer_.cancel();
  ::kill(-pid_, SIGKILL);  // whatever the command left in its group
  if (!socket_path_.empty()) ::unlink(socket_path_.c_str());
  if (was == State::Stopping)
    HLOG_CTX(Info, spec_.name, "pid " << pid_ << " (generation " << spec_.generation << ") " << st.describe());
  else
    HLOG_CTX(Warn, spec_.name, "pid " << pid_ << " (generation " << spec_.generation << ") " << st.describe());
  auto waiters = std::move(stop_waiters_);
  stop_waiters_.clear();
  auto cb = std::move(on_exit_);
  on_exit_ = nullptr;
  for (auto& w : waiters) w();
  if (cb) cb(st);
}

void UpstreamProcess::stop(std::chrono::milliseconds grace, std::function<void()> done) {
  if (state_ != State::Running && state_ != State::Stopping) {
    if (done) done();
    return;
  }
  if (done) stop_waiters_.push_back(std::move(done));
  if (state_ == State::Stopping) return;
  state_ = State::Stopping;
  ::kill(-pid_, SIGTERM);
  kill_timer_.expires_after(grace);
  std::weak_ptr<UpstreamProcess> weak = weak_from_this();
  kill_timer_.async_wait([weak](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || self->state_ != State::Stopping) return;
    HLOG_CTX(Warn, self->spec_.name, "pid " << self->pid_ << " still running after graceful_timeout: SIGKILL");
    ::kill(-self->pid_, SIGKILL);
  });
}

void UpstreamProcess::kill_now() {
  if (state_ == State::Running || state_ == State::Stopping) ::kill(-pid_, SIGKILL);
}

}  // namespace hearth::upstream
