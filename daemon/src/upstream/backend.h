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

 private:
  std::vector<Server> servers_;
  ServerSet set_;
  std::size_t max_idle_;
  std::vector<std::vector<Socket>> idle_;
  std::size_t in_flight_ = 0;
};

}  // namespace hearth::upstream
