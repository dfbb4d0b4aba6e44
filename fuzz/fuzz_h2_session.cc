// libFuzzer target: HTTP/2 as the daemon serves it. The real net::H2Connection
// (nghttp2 configured exactly as in production: settings, reset budget,
// CONTINUATION and SETTINGS limits, header-list and body caps, upload caps,
// max_buffered_memory, the timers' bookkeeping) over one end of a socketpair;
// the input, after the client preface the listener would have read, is what
// the client sends. Its first byte chooses how the rest is split into writes
// (1..256 bytes each) so frames arrive cut at every offset. The handler answers
// each request at once (status, body, finish) and every third one with a body
// large enough to fill the stream's output buffer, so back-pressure and
// deferred DATA run too.
//
// Findings: crashes, sanitizer reports, and broken invariants (abort()): the
// connection's counters (ServerState::h2_body_memory) must be back to zero once
// the connection is gone, and no connection may stay registered.
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>

#include "http/handler.h"
#include "net/h2_connection.h"
#include "net/server_state.h"

namespace {

namespace asio = boost::asio;

void check(bool ok) {
  if (!ok) std::abort();
}

class AnswerAtOnce final : public hearth::http::RequestHandler {
 public:
  void handle(std::shared_ptr<hearth::http::Request> request,
              std::shared_ptr<hearth::http::ResponseSink> sink) override {
    ++n_;
    sink->start(200, "", {hearth::http::Header{"Content-Type", "text/plain"}});
    if (n_ % 3 == 0) {
      std::string big(48 * 1024, 'x');
      for (int i = 0; i < 3 && !sink->full(); ++i) sink->body(big);
    } else {
      sink->body(request->target);
    }
    sink->finish(true);
  }

 private:
  uint64_t n_ = 0;
};

const hearth::config::HttpLimits& limits() {
  static const hearth::config::HttpLimits l = [] {
    hearth::config::HttpLimits x;
    x.max_header_size = 4096;
    x.max_headers = 32;
    x.max_body_size = 64 * 1024;
    x.body_buffer_size = 64 * 1024;  // bodies stay in memory: no temp files while fuzzing
    x.response_buffer_size = 64 * 1024;
    x.max_buffered_memory = 256 * 1024;  // small, so refusals happen
    x.h2_max_concurrent_streams = 16;
    x.h2_initial_window_size = 65535;
    return x;
  }();
  return l;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::size_t step = static_cast<std::size_t>(data[0]) + 1;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) return 0;
  asio::io_context io;
  AnswerAtOnce handler;
  auto state = std::make_shared<hearth::net::ServerState>(io, limits(), "/tmp", &handler, "fuzz");
  {
    hearth::net::Stream::Socket sock(io, asio::generic::stream_protocol(AF_UNIX, SOCK_STREAM), fds[0]);
    auto conn = std::make_shared<hearth::net::H2Connection>(hearth::net::Stream(std::move(sock)), state,
                                                            "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", false);
    conn->start();
  }
  char sink[65536];
  auto drain_peer = [&] {
    while (::read(fds[1], sink, sizeof sink) > 0) {
    }
  };
  for (std::size_t off = 0; off < input.size(); off += step) {
    std::string_view piece = input.substr(off, step);
    while (!piece.empty()) {
      ssize_t n = ::send(fds[1], piece.data(), piece.size(), MSG_NOSIGNAL);  // no SIGPIPE once closed
      if (n <= 0) {  // the daemon stopped reading (closed, or its buffers are full): drain and go on
        drain_peer();
        if (io.poll() == 0) break;
        continue;
      }
      piece.remove_prefix(static_cast<std::size_t>(n));
    }
    io.poll();
    drain_peer();
  }
  ::shutdown(fds[1], SHUT_WR);
  for (int i = 0; i < 64 && io.poll() > 0; ++i) drain_peer();
  ::close(fds[1]);
  // Whatever is left open (a stream waiting for its window) is aborted, as at shutdown.
  while (!state->h2_connections.empty()) (*state->h2_connections.begin())->abort();
  io.poll();
  io.stop();
  io.restart();
  io.poll();
  check(state->h2_connections.empty());
  check(state->h2_body_memory == 0);
  state->handler = nullptr;
  return 0;
}
