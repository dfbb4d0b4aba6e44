#pragma once
// One generation of an upstream's servers: the addresses of `servers`, or the
// one process a `command` upstream runs now. Holds the round-robin policy
// (ServerSet), the idle keep-alive connections per server (at most
// `max_idle` each, the most recent reused first) and the number of requests
// in flight, which a blue/green reload waits on to drain the old generation.
//
// Lifetimes: the UpstreamHandler holds the current Backend; every request in
// flight holds the Backend it started on, so an old generation lives until
// its last request ends. One executor (the daemon's loop).
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "config/upstreams.h"
#include "upstream/server_set.h"

namespace hearth::upstream {

using Endpoint = boost::asio::generic::stream_protocol::endpoint;
using Socket = boost::asio::generic::stream_protocol::socket;

struct Server {
  Endpoint endpoint;
  std::string label;  // as configured: "127.0.0.1:3000", "unix:/run/x.sock"
  std::string host;   // the Host header when the client sent none
};

// Start-up regime: the endpoint of a configured address (a host name is
// resolved now, its first address taken); nullopt with `error` set.
std::optional<Server> make_server(const std::string& text, std::string* error);

// An open WebSocket tunnel to one of a Backend's servers (ws_tunnel.h).
class TunnelToBackend {
 public:
  // The generation is retired (a blue/green reload switched away from it):
  // close both sides with 1001 so the client reconnects to the new one.
  virtual void go_away() = 0;

 protected:
  ~TunnelToBackend() = default;
};

class Backend {
 public:
  Backend(std::vector<Server> servers, ServerSet::Params params, std::size_t max_idle = 16);
  const std::vector<Server>& servers() const { return servers_; }
  ServerSet& set() { return set_; }
  const ServerSet& set() const { return set_; }

  // An idle connection to server `i` that the server has not closed, or nullopt.
  std::optional<Socket> take_idle(std::size_t i);
  void put_idle(std::size_t i, Socket s);
  void close_idle();
  std::size_t idle(std::size_t i) const { return idle_[i].size(); }

  std::size_t in_flight() const { return in_flight_; }
  void begin_request() { ++in_flight_; }
  void end_request() { --in_flight_; }

  // WebSocket tunnels (counted in in_flight() too): registered while they
  // last, told to go away by close_tunnels() (from a copy: they unregister).
  void add_tunnel(TunnelToBackend* t) { tunnels_.insert(t); }
  void remove_tunnel(TunnelToBackend* t) { tunnels_.erase(t); }
  void close_tunnels();
  std::size_t tunnels() const { return tunnels_.size(); }

 private:
  std::vector<Server> servers_;
  ServerSet set_;
  std::size_t max_idle_;
  std::vector<std::vector<Socket>> idle_;
  std::size_t in_flight_ = 0;
  std::unordered_set<TunnelToBackend*> tunnels_;
};

}  // namespace hearth::upstream
