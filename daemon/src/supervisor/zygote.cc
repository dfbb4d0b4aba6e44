#include "supervisor/zygote.h"

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "common/log.h"

namespace hearth::supervisor {

namespace asio = boost::asio;

const char* zygote_state_name(Zygote::State s) {
  switch (s) {
    case Zygote::State::Starting: return "starting";
    case Zygote::State::Ready: return "ready";
    case Zygote::State::Failed: return "failed";
    case Zygote::State::Exited: return "exited";
  }
  return "?";
}

Zygote::Zygote(asio::io_context& io, Spawner& spawner, Reaper& reaper, ZygoteSpec spec, Events events)
    : io_(io), spawner_(spawner), reaper_(reaper), spec_(std::move(spec)), events_(std::move(events)),
      control_(io) {}

Zygote::~Zygote() {
  if (pid_ > 0 && state_ != State::Exited) reaper_.unwatch(pid_);
}

std::string Zygote::start() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return std::string("socketpair: ") + strerror(errno);

  SpawnSpec s;
  s.argv = {spec_.python, spec_.runtime_dir + "/hearth_zygote.py", "--control-fd", "3", "--death-fd", "4",
            "--app", spec_.app, spec_.preload ? "--preload" : "--no-preload", "--threads",
            std::to_string(spec_.threads), "--generation", std::to_string(spec_.generation)};
  if (spec_.interface != "wsgi") {  // the WSGI command line stays as it was
    s.argv.insert(s.argv.end(), {std::string("--interface"), spec_.interface, std::string("--concurrency"),
                                 std::to_string(spec_.concurrency), std::string("--lifespan"), spec_.lifespan});
  }
  if (!spec_.chdir.empty()) {
    s.argv.push_back("--chdir");
    s.argv.push_back(spec_.chdir);
  }
  for (auto& p : spec_.pythonpath) {
    s.argv.push_back("--pythonpath");
    s.argv.push_back(p);
  }
  const std::pair<const char*, const std::string*> hooks[] = {{"--hook-pre-fork", &spec_.hook_pre_fork},
                                                              {"--hook-post-fork", &spec_.hook_post_fork},
                                                              {"--hook-worker-exit", &spec_.hook_worker_exit}};
  for (auto& [flag, value] : hooks) {
    if (value->empty()) continue;
    s.argv.push_back(flag);
    s.argv.push_back(*value);
  }
  s.env = spec_.env;
  s.fd_map = {{sv[1], 3}, {spec_.death_pipe_read_fd, 4}};
  if (spec_.capture_output) s.fd_map.push_back({STDERR_FILENO, STDOUT_FILENO});
  s.new_session = true;

  SpawnResult r = spawner_.spawn(s);
  ::close(sv[1]);
  if (r.error) {
    ::close(sv[0]);
    if (r.pid > 0) {
      // The child failed before exec; it has exited or will at once.
      reaper_.watch(r.pid, [](const ExitStatus&) {});
    }
    return "cannot start the Python zygote (" + spec_.python + "): " + r.what + ": " + r.error.message();
  }
  pid_ = r.pid;
  control_.assign(asio::local::stream_protocol(), sv[0]);
  control_.non_blocking(true);
  std::weak_ptr<Zygote> weak = weak_from_this();
  reaper_.watch(pid_, [weak](const ExitStatus& st) {
    auto self = weak.lock();
    if (!self) return;
    self->state_ = State::Exited;
    boost::system::error_code ignored;
    self->control_.close(ignored);
    if (self->events_.on_exit) self->events_.on_exit(*self, st);
  });
  HLOG_CTX(Info, ctx(), "started pid=" << pid_ << " generation=" << spec_.generation
                                          << (spec_.preload ? " (preload)" : " (lazy)"));
  do_read();
  return {};
}

void Zygote::do_read() {
  if (!control_.is_open()) return;
  control_.async_read_some(asio::buffer(rbuf_), [self = shared_from_this()](const boost::system::error_code& ec,
                                                                            std::size_t n) {
    if (ec) {
      // EOF: the zygote is exiting; the reaper reports how.
      boost::system::error_code ignored;
      self->control_.close(ignored);
      return;
    }
    bool ok = self->decoder_.feed(std::string_view(self->rbuf_.data(), n), [&](const FrameDecoder::Event& ev) {
      if (ev.kind == FrameDecoder::Event::Kind::Frame) self->handle_frame(ev.header, ev.payload);
    });
    if (!ok) {
      HLOG_CTX(Error, self->ctx(), "malformed frame on the control channel; killing the zygote");
      self->kill(SIGKILL);
      return;
    }
    self->do_read();
  });
}

void Zygote::handle_frame(const FrameHeader& h, std::string_view payload) {
  switch (h.type) {
    case FrameType::ZygoteReady: {
      threads_after_import_ = json_int(payload, "threads_after_import").value_or(1);
      import_ms_ = json_int(payload, "import_ms").value_or(0);
      {
        int64_t n = json_int(payload, "slots").value_or(spec_.threads);
        slots_ = n >= 1 && n <= 256 ? static_cast<uint32_t>(n) : spec_.threads;
        auto kind = json_string(payload, "interface");
        interface_ = kind ? *kind : "wsgi";
      }
      state_ = State::Ready;
      HLOG_CTX(Info, ctx(), "zygote ready pid=" << pid_ << " generation=" << spec_.generation
                                                   << " import_ms=" << import_ms_
                                                   << " slots=" << slots_);
      if (threads_after_import_ > 1) {
        HLOG_CTX(Warn, ctx(),
                 "the app started " << (threads_after_import_ - 1)
                                    << " thread(s) while importing; forking a multi-threaded process is unsafe "
                                       "(locks held by those threads stay locked in the workers). Start threads "
                                       "in a post_fork hook, or set preload = false");
      }
      if (events_.on_ready) events_.on_ready(*this);
      return;
    }
    case FrameType::ZygoteFailed:
      state_ = State::Failed;
      if (events_.on_failed) events_.on_failed(*this, std::string(payload));
      return;
    case FrameType::Forked: {
      auto id = json_int(payload, "worker_id");
      auto pid = json_int(payload, "pid");
      if (!id || !pid || *pid <= 1) {
        HLOG_CTX(Error, ctx(), "bad FORKED message: " << payload);
        return;
      }
      if (events_.on_forked) events_.on_forked(*this, static_cast<int>(*id), static_cast<pid_t>(*pid));
      return;
    }
    case FrameType::ForkFailed: {
      auto id = json_int(payload, "worker_id");
      auto err = json_string(payload, "error").value_or("unknown error");
      if (id && events_.on_fork_failed) events_.on_fork_failed(*this, static_cast<int>(*id), err);
      return;
    }
    default:
      HLOG_CTX(Error, ctx(), "unexpected frame type " << static_cast<int>(h.type) << " from the zygote");
  }
}

bool Zygote::fork_worker(int worker_id, const std::vector<int>& fds) {
  if (state_ != State::Ready || !control_.is_open()) return false;
  std::string payload = "{\"worker_id\":" + std::to_string(worker_id) +
                        ",\"generation\":" + std::to_string(spec_.generation) + "}";
  std::string frame = encode_frame(FrameType::Fork, payload);

  struct msghdr msg {};
  struct iovec iov {frame.data(), frame.size()};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> cbuf(CMSG_SPACE(sizeof(int) * fds.size()));
  msg.msg_control = cbuf.data();
  msg.msg_controllen = cbuf.size();
  struct cmsghdr* cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
  std::memcpy(CMSG_DATA(cm), fds.data(), sizeof(int) * fds.size());

  // A small message on an otherwise quiet socket: sendmsg completes at once.
  ssize_t n;
  do {
    n = ::sendmsg(control_.native_handle(), &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(frame.size())) {
    HLOG_CTX(Error, ctx(), "sending FORK failed: " << (n < 0 ? strerror(errno) : "short write"));
    return false;
  }
  return true;
}

void Zygote::shutdown() {
  if (state_ == State::Exited) return;
  if (control_.is_open()) {
    std::string frame = encode_frame(FrameType::Shutdown, {});
    (void)!::send(control_.native_handle(), frame.data(), frame.size(), MSG_NOSIGNAL);
  }
  kill(SIGTERM);
}

void Zygote::kill(int sig) {
  if (pid_ > 0 && state_ != State::Exited) ::kill(pid_, sig);
}

}  // namespace hearth::supervisor
