#pragma once
// The front door's RequestHandler for one [[upstreams]] entry: forwards the
// (already buffered) request over HTTP/1.1 to one of the upstream's servers
// and relays the response through the ResponseSink. Never touches the
// client's socket; owns no process (UpstreamUnit does).
//
// Per request (an Exchange, do_x()/on_x() steps):
//  1. the Backend's ServerSet picks a server; an idle kept-alive connection to
//     it is reused, else one is opened within connect_timeout;
//  2. the request head (request_head.h) and the body are written;
//  3. the response is read with Beast's parser (Content-Length, chunked or
//     close-delimited) and relayed: streamed when it has no Content-Length,
//     is text/event-stream or says X-Accel-Buffering: no (the sink's
//     back-pressure then holds the upstream), else buffered by the sink;
//  4. a complete response on a keep-alive connection gives the connection back
//     to the Backend's idle list.
// Failures: a server that refuses, resets or closes before any response byte
// is ejected (ServerSet::on_failure) and, for an idempotent method, the next
// server is tried; none left: 502. No response head within `timeout`: 504
// (and between body reads: the response is cut, finish(false)). A client that
// leaves closes the upstream connection.
//
// A WebSocket handshake (Request::websocket) becomes a WsTunnel (ws_tunnel.h)
// instead of an Exchange.
//
// Requests are observed (metrics with app=NAME, the access log) through an
// ObservedSink, like the apps' requests.
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>

#include "common/clock.h"
#include "http/handler.h"
#include "proxy/observed_sink.h"
#include "proxy/request_ids.h"
#include "upstream/backend.h"

namespace hearth::upstream {

class WsTunnel;

class UpstreamHandler final : public http::RequestHandler {
 public:
  struct Options {
    std::string name;         // for messages
    std::string prefix;       // the route's prefix ("" = none)
    bool strip_prefix = false;
    std::chrono::milliseconds timeout{30000};
    std::chrono::milliseconds connect_timeout{5000};
    bool via = false;         // http.via
    uint64_t ws_max_message_size = 1 << 20;  // websocket.max_message_size: the largest message taken from the upstream
  };
  UpstreamHandler(boost::asio::io_context& io, Options options, proxy::RequestObserver* observer,
                  const ClockSource& clock);
  void handle(std::shared_ptr<http::Request> request, std::shared_ptr<http::ResponseSink> sink) override;

  // The servers new requests go to; null answers 503 (a command upstream not
  // started yet). Requests in flight keep the Backend they started on.
  void set_backend(std::shared_ptr<Backend> b) { backend_ = std::move(b); }
  const std::shared_ptr<Backend>& backend() const { return backend_; }
  uint64_t requests() const { return requests_; }
  // Requests and WebSocket tunnels in flight.
  std::size_t in_flight() const;
  // Closes every open WebSocket tunnel with 1001 (Backend::close_tunnels for
  // each generation): the upstream is being retired by a configuration reload.
  void close_websockets();
  // Ends every request in flight now (finish(false)), and every WebSocket
  // tunnel (the client closed with 1001), while what their sinks report to
  // (metrics, access log) still exists: the daemon's last step before its
  // loop stops.
  void abort_all();

 private:
  class Exchange;
  // The exchanges in flight; shared with them, so one that outlives the
  // handler (in a pending handler of the loop) still has it.
  using Live = std::unordered_set<Exchange*>;

  boost::asio::io_context& io_;
  Options options_;
  proxy::RequestObserver* observer_;
  const ClockSource& clock_;
  std::shared_ptr<Backend> backend_;
  std::shared_ptr<Live> live_ = std::make_shared<Live>();
  std::shared_ptr<std::unordered_set<WsTunnel*>> tunnels_ = std::make_shared<std::unordered_set<WsTunnel*>>();
  uint64_t requests_ = 0;
  proxy::RequestIds ids_;
};

// Methods a failed connection may be retried with on another server (RFC 9110 9.2.2).
bool is_idempotent(std::string_view method);

}  // namespace hearth::upstream
