#include "supervisor/worker.h"

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "common/log.h"
#include "supervisor/protocol.h"

namespace hearth::supervisor {

namespace asio = boost::asio;

const char* worker_state_name(Worker::State s) {
  switch (s) {
    case Worker::State::Forking: return "forking";
    case Worker::State::Booting: return "booting";
    case Worker::State::Admitting: return "warming";
    case Worker::State::Ready: return "ready";
    case Worker::State::Draining: return "draining";
    case Worker::State::Stopping: return "stopping";
    case Worker::State::Dead: return "dead";
  }
  return "?";
}

const char* stop_reason_name(Worker::StopReason r) {
  switch (r) {
    case Worker::StopReason::None: return "none";
    case Worker::StopReason::Shutdown: return "shutdown";
    case Worker::StopReason::Crash: return "crash";
    case Worker::StopReason::Timeout: return "timeout";
    case Worker::StopReason::BootFailed: return "boot_failed";
    case Worker::StopReason::BootTimeout: return "boot_timeout";
    case Worker::StopReason::Broken: return "broken";
    case Worker::StopReason::Scale: return "scale";
    case Worker::StopReason::Reload: return "reload";
    case Worker::StopReason::MaxRequests: return "max_requests";
    case Worker::StopReason::Memory: return "memory";
    case Worker::StopReason::Health: return "health";
  }
  return "?";
}

Worker::Worker(asio::io_context& io, Reaper& reaper, Listener& listener, WorkerSlot::Home* home, int id,
               uint32_t generation, std::chrono::milliseconds request_timeout, std::chrono::milliseconds boot_timeout,
               const ClockSource& clock)
    : io_(io), reaper_(reaper), listener_(listener), home_(home), clock_(clock), id_(id), generation_(generation),
      request_timeout_(request_timeout), boot_timeout_(boot_timeout), timer_(io), started_(clock_.now()),
      idle_since_(started_) {}

Worker::~Worker() {
  if (pid_ > 0 && state_ != State::Dead) reaper_.unwatch(pid_);
  for (auto& s : slots_) s->detach();
}

std::string Worker::ctx() const {
  return (log_name_.empty() ? std::string() : log_name_ + " ") + "worker " + std::to_string(id_);
}

namespace {
constexpr int kSlotSendBuffer = 1024 * 1024;  // SO_SNDBUF of each end of a slot socketpair
}  // namespace

std::string Worker::create_slots(uint32_t threads, std::vector<int>* worker_fds) {
  for (uint32_t i = 0; i < threads; ++i) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      for (int fd : *worker_fds) ::close(fd);
      worker_fds->clear();
      return std::string("socketpair: ") + strerror(errno);
    }
    // Both directions may hold a large body in flight: a spooled request body
    // leaves in one or two sendfile(2) calls instead of ~10 (each an EAGAIN
    // and a wait away), a large response in one send. Best effort: the kernel
    // caps it at net.core.wmem_max. Kernel memory, only while bytes are in flight.
    for (int fd : sv) ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &kSlotSendBuffer, sizeof kSlotSendBuffer);
    asio::local::stream_protocol::socket sock(io_);
    sock.assign(asio::local::stream_protocol(), sv[0]);
    slots_.push_back(std::make_shared<WorkerSlot>(io_, std::move(sock), static_cast<WorkerSlot::Owner*>(this), home_,
                                                  id_, static_cast<int>(i), request_timeout_, clock_));
    slots_.back()->set_dispatch_ahead(dispatch_ahead_);
    worker_fds->push_back(sv[1]);
  }
  for (auto& s : slots_) s->start();
  // The boot deadline covers the fork, the (lazy) import and WORKER_READY.
  timer_.expires_after(boot_timeout_);
  timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self) return;
    if (self->state_ == State::Forking || self->state_ == State::Booting || self->state_ == State::Admitting) {
      HLOG_CTX(Error, self->ctx(), "did not become ready within boot_timeout ("
                                       << self->boot_timeout_.count() << " ms); killing it");
      self->kill_now(StopReason::BootTimeout);
      self->listener_.on_worker_boot_failed(*self, "boot timeout");
    }
  });
  return {};
}

void Worker::on_forked(pid_t pid) {
  pid_ = pid;
  if (state_ == State::Forking) state_ = State::Booting;
  std::weak_ptr<Worker> weak = weak_from_this();
  reaper_.watch(pid_, [weak](const ExitStatus& st) {
    if (auto self = weak.lock()) self->on_exit(st);
  });
  if (state_ == State::Stopping) send_term();  // stopped while forking
}

void Worker::on_fork_failed(const std::string& error) {
  if (state_ == State::Dead) return;
  if (state_ == State::Stopping) HLOG_CTX(Info, ctx(), "not forked: " << error);
  else HLOG_CTX(Error, ctx(), "the zygote could not fork it: " << error);
  timer_.cancel();
  close_slots();
  state_ = State::Dead;
  if (stop_reason_ == StopReason::None) stop_reason_ = StopReason::BootFailed;
  listener_.on_worker_exit(*this, ExitStatus{-1, 0});
}

void Worker::on_worker_ready(WorkerSlot&, std::string_view json) {
  if (state_ != State::Booting && state_ != State::Forking) return;
  if (pid_ < 0) {
    // READY overtook FORKED (different sockets): take the pid from READY.
    if (auto p = json_int(json, "pid")) on_forked(static_cast<pid_t>(*p));
  }
  boot_ms_ = json_int(json, "boot_ms").value_or(0);
  state_ = State::Admitting;  // the boot deadline still runs: it covers warm-up
  listener_.on_worker_booted(*this);
}

void Worker::admit() {
  if (state_ != State::Admitting) return;
  timer_.cancel();
  state_ = State::Ready;
  ready_at_ = clock_.now();
  idle_since_ = *ready_at_;
  HLOG_CTX(Info, ctx(), "worker " << id_ << " ready pid=" << pid_ << " generation=" << generation_
                                  << " boot_ms=" << boot_ms_ << " warmup_ms=" << warmup_ms_);
  listener_.on_worker_ready(*this);
  for (auto& s : slots_) {
    if (home_ && state_ == State::Ready && s->state() == WorkerSlot::State::Idle) home_->on_slot_free(s);
  }
}

void Worker::on_worker_failed(WorkerSlot&, std::string_view text) {
  boot_error_ = std::string(text);
  if (listener_.boot_error_is_news(*this, boot_error_)) {
    HLOG_CTX(Error, ctx(), "failed to load the app:\n" << text);
  } else {
    HLOG_CTX(Error, ctx(), "failed to load the app (the same error as above)");
  }
  timer_.cancel();
  stop_reason_ = StopReason::BootFailed;
  listener_.on_worker_boot_failed(*this, std::string(text));
}

std::size_t Worker::busy_slots() const {
  std::size_t n = 0;
  for (auto& s : slots_) n += s->state() == WorkerSlot::State::Busy ? 1 : 0;
  return n;
}

bool Worker::may_dispatch_ahead(const WorkerSlot&) const {
  // Only a worker in rotation that will not be stopped after its current request:
  // none marked for recycling, none whose request in flight reaches max_requests
  // (a draining, stopping or ejected one is not Ready). SIGTERM goes only to a
  // worker with no busy slot, so it never finds a request queued ahead.
  return dispatch_ahead_ && state_ == State::Ready && recycle_ == RecycleReason::None &&
         (request_limit_ == 0 || requests_ + exchanges_ < request_limit_);
}

SlotFate Worker::on_exchange_done(WorkerSlot& slot, WorkerSlot::Outcome outcome) {
  if (!slot.last_internal()) {
    ++requests_;
    bool failed = outcome != WorkerSlot::Outcome::Ok || slot.last_status() >= 500;
    consecutive_failures_ = failed ? consecutive_failures_ + 1 : 0;
  }
  if (exchanges_ > 0) --exchanges_;
  if (exchanges_ == 0) idle_since_ = clock_.now();
  switch (outcome) {
    case WorkerSlot::Outcome::Ok:
    case WorkerSlot::Outcome::AppAborted:
      break;
    case WorkerSlot::Outcome::Timeout:
      // Dump the stuck Python stack to the log, then kill.
      if (pid_ > 0) ::kill(pid_, SIGUSR2);
      stop_reason_ = StopReason::Timeout;
      grace_ = std::chrono::milliseconds(500);
      state_ = State::Stopping;
      timer_.expires_after(grace_);
      timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
        auto self = weak.lock();
        if (!ec && self && self->pid_ > 0 && self->state_ != State::Dead) ::kill(self->pid_, SIGKILL);
      });
      return SlotFate::Withheld;
    case WorkerSlot::Outcome::ProtocolError:
      kill_now(StopReason::Broken);
      return SlotFate::Withheld;
    case WorkerSlot::Outcome::WorkerLost:
      if (state_ != State::Stopping) stop_reason_ = StopReason::Crash;
      return SlotFate::Withheld;
  }
  // Only a Ready worker is in rotation (a stopping pool has stopped every
  // worker, so none is Ready): the pool's verdict may take it out (ejection).
  if (state_ == State::Ready) listener_.on_exchange_counted(*this);
  if (state_ == State::Ready) return SlotFate::Free;
  if (state_ == State::Draining && busy_slots() == 0) send_term();
  return SlotFate::Withheld;
}

void Worker::on_slot_closed(WorkerSlot&) {
  // Its socket closed: the process is exiting or dead. Make sure it is gone;
  // the reaper reports the exit.
  if (state_ == State::Dead) return;
  if (state_ != State::Stopping) {
    if (stop_reason_ == StopReason::None) stop_reason_ = StopReason::Crash;
    if (pid_ > 0) ::kill(pid_, SIGKILL);
    state_ = State::Stopping;
  }
}

void Worker::stop(StopReason reason, std::chrono::milliseconds grace) {
  if (state_ == State::Dead || state_ == State::Stopping) return;
  if (state_ == State::Forking && pid_ < 0) {
    // Not forked yet: the zygote may never fork it now. Stopping is immediate
    // once FORKED arrives (on_forked sends SIGTERM); if the zygote exits first,
    // the pool fails the fork.
    if (stop_reason_ == StopReason::None) stop_reason_ = reason;
    grace_ = grace;
    state_ = State::Stopping;
    return;
  }
  if (stop_reason_ == StopReason::None) stop_reason_ = reason;
  grace_ = grace;
  timer_.cancel();
  if (busy_slots() > 0 && (state_ == State::Ready || state_ == State::Admitting)) {
    state_ = State::Draining;
    // Even a draining worker is killed at the deadline.
    timer_.expires_after(grace_);
    timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      auto self = weak.lock();
      if (!ec && self && self->state_ == State::Draining) self->kill_now(self->stop_reason_);
    });
    return;
  }
  send_term();
}

void Worker::send_term() {
  state_ = State::Stopping;
  if (pid_ > 0) ::kill(pid_, SIGTERM);
  timer_.cancel();
  timer_.expires_after(std::max(grace_, std::chrono::milliseconds(100)));
  timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || self->state_ == State::Dead) return;
    HLOG_CTX(Warn, self->ctx(), "did not exit after SIGTERM; sending SIGKILL");
    if (self->pid_ > 0) ::kill(self->pid_, SIGKILL);
  });
}

void Worker::kill_now(StopReason reason) {
  if (state_ == State::Dead) return;
  if (stop_reason_ == StopReason::None) stop_reason_ = reason;
  state_ = State::Stopping;
  timer_.cancel();
  if (pid_ > 0) ::kill(pid_, SIGKILL);
}

void Worker::close_slots() {
  for (auto& s : slots_) {
    s->detach();
    s->close();
  }
}

void Worker::on_exit(const ExitStatus& st) {
  timer_.cancel();
  // Stopping because its socket closed on its own (on_slot_closed) is a crash, not a planned stop.
  bool expected = (state_ == State::Stopping || state_ == State::Draining) && stop_reason_ != StopReason::Crash;
  state_ = State::Dead;
  if (!expected && stop_reason_ == StopReason::None) stop_reason_ = StopReason::Crash;
  close_slots();
  auto level = expected ? log::Level::Info : log::Level::Error;
  if (log::enabled(level)) {
    log::write(level, ctx(),
               "exited pid=" + std::to_string(pid_) + " (" + st.describe() + ", reason " +
                   stop_reason_name(stop_reason_) + ", served " + std::to_string(requests_) + ")");
  }
  listener_.on_worker_exit(*this, st);
}

}  // namespace hearth::supervisor
