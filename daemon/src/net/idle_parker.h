#pragma once
// Parks idle plain-HTTP/1.1 keep-alive connections (docs/profile.md section 4).
//
// A connection that has answered its last request, holds no buffered bytes and
// has waited at least kParkAfter for the next one gives its socket here and is
// destroyed (HttpConnection::try_park): what stays is one table entry (the
// descriptor, its keep-alive deadline, the connection id, and the per-IP slot
// and PROXY-protocol client if any; net/idle_table.h) instead of the
// connection object, its timer wait, its readability wait and Asio's
// per-descriptor registration. The parked sockets are watched with ONE epoll
// descriptor of our own (itself watched by the loop) and their deadlines with
// ONE timer. Readable: a new HttpConnection takes the socket back and reads
// the request (HttpConnection::resume). Deadline: the socket is closed, as the
// keep-alive timeout closes an idle connection (silently).
//
// The same timer sweeps the server's connections every kSweepEvery while any
// are open, parking those idle for kParkAfter. Busy keep-alive clients (the
// next request within kParkAfter) are never parked: no cost per request.
//
// Out of scope: TLS and HTTP/2 connections keep their state.
//
// Lifetime: shared_ptr held by ServerState and by the pending waits; holds the
// state weakly. Belongs to the io_context's thread.
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>

#include "common/clock.h"
#include "net/idle_table.h"
#include "net/per_ip_connections.h"
#include "net/stream.h"

namespace hearth::net {

struct ServerState;

// What a parked connection keeps for the connection that takes it back.
struct ParkedConnection {
  uint64_t id = 0;
  std::unique_ptr<PerIpConnections::Slot> slot;        // max_connections_per_ip; null when off
  std::unique_ptr<Stream::ProxiedClient> proxied;      // PROXY protocol; null when off
};

class IdleParker final : public std::enable_shared_from_this<IdleParker> {
 public:
  static constexpr Duration kParkAfter{250};
  static constexpr Duration kSweepEvery{250};

  IdleParker(boost::asio::io_context& io, std::weak_ptr<ServerState> state);
  ~IdleParker();  // closes parked sockets
  IdleParker(const IdleParker&) = delete;
  IdleParker& operator=(const IdleParker&) = delete;

  // A connection was opened: the sweep runs while connections are open.
  void connection_opened();
  // Takes `fd` (released from its Asio socket) until `deadline`. On failure the socket is closed.
  void park(int fd, TimePoint deadline, ParkedConnection parked);
  // Closes every parked socket (graceful drain: they are idle; or shutdown).
  void close_all();
  std::size_t size() const { return table_.size(); }
  uint64_t parked_total() const { return parked_total_; }
  uint64_t unparked_total() const { return unparked_total_; }

 private:
  void arm();
  void on_timer();
  void sweep(ServerState& state, TimePoint now);
  void wait_ready();
  void on_ready();
  void resume(ServerState& state, std::shared_ptr<ServerState> owner, int fd);
  static void close_parked(int fd, ParkedConnection& p);

  boost::asio::io_context& io_;
  std::weak_ptr<ServerState> state_;
  boost::asio::posix::stream_descriptor epoll_;  // our epoll descriptor; opened at the first park
  boost::asio::steady_timer timer_;
  IdleTable<ParkedConnection> table_;
  TimePoint armed_at_ = TimePoint::max();
  bool timer_armed_ = false;
  bool waiting_ = false;
  uint64_t parked_total_ = 0;
  uint64_t unparked_total_ = 0;
};

}  // namespace hearth::net
