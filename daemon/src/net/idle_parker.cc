#include "net/idle_parker.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "common/log.h"
#include "net/http_connection.h"
#include "net/server_state.h"

namespace hearth::net {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {
// Heap a parked connection gives back (its HttpConnection, the waits, the
// set entry): reported to the MemoryTrimmer so a burst of parks is trimmed.
constexpr uint64_t kParkReleases = 1500;
constexpr int kEventsPerCall = 64;
// A sweep that parks this many connections trims the heap at once (at most one
// trim per sweep, kSweepEvery) rather than through the MemoryTrimmer, which waits
// (kDelay) and wants kThreshold reported first.
constexpr std::size_t kTrimParks = 256;
}  // namespace

IdleParker::IdleParker(asio::io_context& io, std::weak_ptr<ServerState> state)
    : io_(io), state_(std::move(state)), epoll_(io), timer_(io) {}

IdleParker::~IdleParker() {
  for (auto& [fd, p] : table_.take_all()) close_parked(fd, p);
}

void IdleParker::close_parked(int fd, ParkedConnection& p) {
  ::close(fd);
  p.slot.reset();  // max_connections_per_ip: the address's count goes down
}

void IdleParker::connection_opened() {
  if (!timer_armed_) arm();
}

void IdleParker::arm() {
  auto state = state_.lock();
  TimePoint at = table_.next_deadline();
  if (state && !state->connections.empty() && !state->draining) at = std::min(at, Clock::now() + kSweepEvery);
  if (at == TimePoint::max()) return;
  if (timer_armed_ && armed_at_ <= at) return;
  timer_armed_ = true;
  armed_at_ = at;
  timer_.expires_at(at);
  timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    if (ec == asio::error::operation_aborted) return;
    self->timer_armed_ = false;
    self->armed_at_ = TimePoint::max();
    self->on_timer();
  });
}

void IdleParker::on_timer() {
  auto state = state_.lock();
  const TimePoint now = Clock::now();
  // keepalive_timeout of parked sockets: closed silently, as HttpConnection's Idle timeout.
  for (auto& [fd, p] : table_.expire(now)) {
    ::epoll_ctl(epoll_.native_handle(), EPOLL_CTL_DEL, fd, nullptr);
    close_parked(fd, p);
  }
  if (!state) return close_all();
  if (!state->draining) sweep(*state, now);
  arm();
}

void IdleParker::sweep(ServerState& state, TimePoint now) {
  std::vector<std::shared_ptr<HttpConnection>> idle;
  for (HttpConnection* c : state.connections) {
    if (c->parkable(now, kParkAfter)) idle.push_back(c->shared_from_this());
  }
  std::size_t parked = 0;
  for (auto& c : idle) parked += c->try_park(now, kParkAfter) ? 1 : 0;
  if (parked >= kTrimParks) {
#ifdef __GLIBC__
    ::malloc_trim(0);
#endif
  } else if (parked > 0) {
    state.trimmer->released(parked * kParkReleases);
  }
}

void IdleParker::park(int fd, TimePoint deadline, ParkedConnection parked) {
  if (!epoll_.is_open()) {
    const int ep = ::epoll_create1(EPOLL_CLOEXEC);
    error_code ec;
    if (ep >= 0) epoll_.assign(ep, ec);
    if (ep < 0 || ec) {
      if (ep >= 0 && !epoll_.is_open()) ::close(ep);
      HLOG(Warn, "idle connections: epoll_create1 failed: " << std::strerror(errno));
      return close_parked(fd, parked);
    }
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.fd = fd;
  if (::epoll_ctl(epoll_.native_handle(), EPOLL_CTL_ADD, fd, &ev) != 0) {
    HLOG(Debug, "idle connections: epoll_ctl failed: " << std::strerror(errno));
    return close_parked(fd, parked);
  }
  if (!table_.park(fd, deadline, std::move(parked))) {
    // Cannot happen (a descriptor is parked once); keep the table the truth.
    ::epoll_ctl(epoll_.native_handle(), EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    return;
  }
  ++parked_total_;
  wait_ready();
  arm();
}

void IdleParker::wait_ready() {
  if (waiting_ || !epoll_.is_open()) return;
  waiting_ = true;
  epoll_.async_wait(asio::posix::stream_descriptor::wait_read, [self = shared_from_this()](const error_code& ec) {
    self->waiting_ = false;
    if (ec) return;  // closed (close_all) or cancelled
    self->on_ready();
  });
}

void IdleParker::on_ready() {
  auto state = state_.lock();
  if (!state) return close_all();
  epoll_event events[kEventsPerCall];
  for (;;) {
    int n;
    do {
      n = ::epoll_wait(epoll_.native_handle(), events, kEventsPerCall, 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) break;
    for (int i = 0; i < n; ++i) resume(*state, state, events[i].data.fd);
    if (n < kEventsPerCall) break;
  }
  if (table_.size() > 0) wait_ready();
}

void IdleParker::resume(ServerState& state, std::shared_ptr<ServerState> owner, int fd) {
  ::epoll_ctl(epoll_.native_handle(), EPOLL_CTL_DEL, fd, nullptr);
  auto taken = table_.unpark(fd);
  if (!taken) return;
  auto& [deadline, parked] = *taken;
  ++unparked_total_;
  int family = AF_INET;
  socklen_t len = sizeof family;
  if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &len) != 0) family = AF_INET;
  const int protocol = family == AF_UNIX ? 0 : IPPROTO_TCP;
  error_code ec;
  Stream::Socket socket(io_);
  socket.assign(asio::generic::stream_protocol(family, protocol), fd, ec);
  if (ec) {
    HLOG_CTX(Debug, state.name, "idle connection " << parked.id << ": cannot take back: " << ec.message());
    return close_parked(fd, parked);
  }
  Stream stream(std::move(socket));
  if (parked.proxied) stream.set_proxied_client(std::move(parked.proxied->addr), parked.proxied->port);
  if (parked.slot) stream.hold(std::move(parked.slot));
  auto conn = HttpConnection::create(std::move(stream), std::move(owner), parked.id);
  conn->resume(deadline);
}

void IdleParker::close_all() {
  for (auto& [fd, p] : table_.take_all()) {
    if (epoll_.is_open()) ::epoll_ctl(epoll_.native_handle(), EPOLL_CTL_DEL, fd, nullptr);
    close_parked(fd, p);
  }
}

}  // namespace hearth::net
