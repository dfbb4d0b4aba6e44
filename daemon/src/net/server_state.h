#pragma once
// What an HttpServer shares with its connections. Held by shared_ptr so a
// connection that outlives the server (handlers still queued on the
// io_context) never touches freed memory; `handler` is cleared when the
// server goes away.
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "config/config.h"
#include "http/buffered_response_sink.h"
#include "http/date_cache.h"
#include "http/error_pages.h"
#include "http/handler.h"
#include "http/request_pool.h"
#include "net/per_ip_connections.h"
#include "net/memory_trimmer.h"
#include "net/spool_files_timer.h"
#include "config/defaults.h"

namespace boost::asio::ssl {
class context;
}

namespace hearth::net {

class HttpConnection;
class H2Connection;
class TlsHandshake;
class ProxyHeaderReader;
class IpAllowList;
class WebSocketSession;
class IdleParker;

struct ServerState {
  ServerState(boost::asio::io_context& io_, config::HttpLimits limits_, std::string temp_dir_,
              http::RequestHandler* handler_, std::string name_)
      : io(io_),
        limits(std::move(limits_)),
        temp_dir(std::move(temp_dir_)),
        handler(handler_),
        name(std::move(name_)) {
    if (limits.max_connections_per_ip > 0) per_ip = std::make_shared<PerIpConnections>(limits.max_connections_per_ip);
    spool_files = std::make_shared<http::SpoolFiles>(config::effective_temp_dir(temp_dir), limits.spool_reuse_size);
    spool_files_timer = SpoolFilesTimer::attach(io, spool_files);
  }

  boost::asio::io_context& io;
  const config::HttpLimits limits;
  const std::string temp_dir;
  http::RequestHandler* handler;  // null once the server is destroyed
  const std::string name;
  http::DateCache date;
  uint64_t next_connection_id = 1;
  bool draining = false;  // close_idle() was called: no more keep-alive
  std::unordered_set<HttpConnection*> connections;  // open ones
  // Idle plain keep-alive connections parked as a socket and a deadline
  // (net/idle_parker.h); they count as open. Null: no parking (set by HttpServer).
  std::shared_ptr<IdleParker> parker;
  std::unordered_set<H2Connection*> h2_connections;  // open HTTP/2 ones
  // Upgraded connections the app accepted (net/websocket_session.h); the open ones.
  std::unordered_set<WebSocketSession*> websockets;
  uint64_t websocket_messages_in = 0;   // whole messages from clients to the app
  uint64_t websocket_messages_out = 0;  // whole messages from the app to clients
  std::unordered_set<TlsHandshake*> handshakes;      // HTTPS connections still in their handshake
  // The context new HTTPS connections get; replaced by a certificate reload
  // (connections already open keep theirs). Null: no HTTPS listener.
  std::shared_ptr<boost::asio::ssl::context> tls_context;
  uint64_t tls_handshake_failures = 0;  // failed or timed-out handshakes (bad clients, scanners)
  // PROXY protocol: every accepted connection starts with a header from one of
  // these peers (HttpServer::set_proxy_protocol). Null: off.
  std::shared_ptr<const IpAllowList> proxy_allow;
  std::unordered_set<ProxyHeaderReader*> proxy_readers;  // connections still sending their PROXY header
  uint64_t proxy_protocol_refused = 0;  // closed: peer not allowed, bad/missing header, timeout
  // [[error_page]] bodies for the answers the daemon makes; null: none.
  // Replaced on reload; each response holds the set it started with.
  std::shared_ptr<const http::ErrorPages> error_pages;
  // http.max_connections_per_ip > 0: open connections per client address. Null: off.
  std::shared_ptr<PerIpConnections> per_ip;
  // HTTP/2 request-body memory reserved by uploading streams of every connection
  // (bounded by limits.max_buffered_memory; one app server serves every bind).
  uint64_t h2_body_memory = 0;
  // Bytes in every HTTP/1.1 response's temp file (bounded by limits.max_total_response_spool).
  uint64_t response_spool_bytes = 0;
  // Response sinks of finished keep-alive responses, recycled for the next
  // (HttpConnection::begin_response); at most kSpareSinks, each with small buffers.
  static constexpr std::size_t kSpareSinks = 8;
  std::vector<std::shared_ptr<http::BufferedResponseSink>> spare_sinks;
  // Requests of finished responses, recycled for the next request (http/request_pool.h).
  http::RequestPool requests;
  std::shared_ptr<MemoryTrimmer> trimmer = std::make_shared<MemoryTrimmer>(io);
  // Temp files of request bodies over body_buffer_size, reused across requests
  // (http.spool_reuse_size; http/spool_files.h), and the timer closing idle ones.
  std::shared_ptr<http::SpoolFiles> spool_files;
  std::shared_ptr<SpoolFilesTimer> spool_files_timer;
};

}  // namespace hearth::net
