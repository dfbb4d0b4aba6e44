#pragma once
// One accepted HTTP/1.x connection: reads and validates requests one at a
// time, buffers each body completely, hands the request to the handler, and
// writes the response the handler produces through a BufferedResponseSink.
// Pipelined requests wait in the read buffer until the previous response has
// been written, so responses go out strictly in order.
//
// Lifetime: shared_ptr; every pending async operation holds one. The server
// keeps a raw pointer in ServerState::connections while the connection is
// open. A sink handed to the handler may outlive the connection; it is
// detached on close.
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <array>
#include <memory>
#include <optional>

#include "common/clock.h"
#include "http/buffered_response_sink.h"
#include "http/request_reader.h"
#include "http/sink_transport.h"
#include "net/read_buffer_allocator.h"
#include "net/server_state.h"
#include "net/stream.h"
#include "websocket/handshake.h"

namespace hearth::net {

class WebSocketSession;

class HttpConnection final : public std::enable_shared_from_this<HttpConnection>,
                             private http::SinkTransport {
 public:
  // `stream`: plain, or TLS with the handshake done. `id`: 0 for a new
  // connection (the next id), or the id of a parked one taken back.
  HttpConnection(Stream stream, std::shared_ptr<ServerState> state, uint64_t id = 0);
  ~HttpConnection();
  // Allocated from a SlabPool (net/slab_pool.h): a burst of parked or closed
  // connections unmaps its memory instead of fragmenting the heap.
  static std::shared_ptr<HttpConnection> create(Stream stream, std::shared_ptr<ServerState> state, uint64_t id = 0);
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  void start();
  // A parked idle connection taken back (net/idle_parker.h): its socket is
  // readable; keep-alive until `keepalive_deadline`, as before it was parked.
  void resume(TimePoint keepalive_deadline);
  // Plain HTTP/1.x, between requests (one served), nothing buffered, waiting
  // for readability, idle since at least `idle_for` before `now`, not draining.
  bool parkable(TimePoint now, Duration idle_for) const;
  // If parkable(): gives the socket to state->parker and closes this object
  // (without closing the socket). true: parked.
  bool try_park(TimePoint now, Duration idle_for);
  // close_idle(): close now if between requests, else after the current response.
  void drain();
  // close_all(): close now.
  void abort();
  // A request is being handled or its response written; or, while draining, a
  // just-accepted connection may still send its first request (drain()).
  bool busy() const { return phase_ == Phase::Responding || (phase_ == Phase::Idle && first_request_grace_); }
  uint64_t id() const { return id_; }
  // The app accepted the WebSocket handshake of the request in progress: the
  // socket and any bytes read after the head go to `ws` (WebSocketSession::adopt)
  // and this connection is done. false: it cannot (closed, or I/O in flight).
  [[nodiscard]] bool hand_over_websocket(WebSocketSession& ws);

 private:
  // Where the connection is in its request/response cycle.
  enum class Phase {
    Idle,        // between requests, nothing of the next one received (keepalive_timeout)
    Head,        // part of a request head received (header_timeout)
    Body,        // head accepted, reading the body (body_timeout per read)
    Responding,  // handler running and/or response being written (send_timeout per write)
    Lingering,   // response done, send side shut down (TLS: close_notify sent), draining input before close
    Closed,      // socket closed
  };

  void fill_addresses();
  void process_input();
  void ensure_read();
  void do_read();
  void start_stream_read();
  void on_read(const boost::system::error_code& ec, std::size_t n);
  void on_readable(const boost::system::error_code& ec);
  bool on_head_complete();
  void send_continue();
  void dispatch();
  void respond_error(int status);
  // A WebSocket handshake (Upgrade: websocket): false when answered here (400).
  bool prepare_websocket(http::Request& req, websocket::Handshake hs);
  void begin_response(bool keep_alive, int version, bool is_head);
  void release_sink();  // after a response: to ServerState::spare_sinks, or freed
  void on_sink_output() override;
  std::size_t write_now(std::string_view first, std::string_view second) override;
  void do_write();
  void do_sendfile();
  void wait_writable();
  void write_next_inline();  // do_write() again after an inline write, depth-counted
  void on_write(const boost::system::error_code& ec, std::size_t n);
  void on_response_done();
  void next_request();
  void begin_linger();
  void tls_shutdown();
  void close_now();
  void upgrade_to_h2(std::string initial);

  // Runs f from the loop, after the current handler (the io_context's executor when known).
  template <class F>
  void post(F&& f);
  void set_deadline(TimePoint deadline);
  void arm_timer(TimePoint at);
  void on_timer(const boost::system::error_code& ec);
  void on_timeout();

  Stream stream_;
  // The loop's own executor when the stream runs on an io_context (always, in
  // hearthd): posting through it skips the type-erased any_io_executor's
  // dispatch (execute_ex, prefer, the outstanding-work count) per post.
  boost::asio::io_context* io_ = nullptr;
  boost::asio::steady_timer timer_;
  std::shared_ptr<ServerState> state_;
  uint64_t id_;

  Phase phase_ = Phase::Idle;
  boost::beast::basic_flat_buffer<ReadBufferAllocator<char>> buffer_;
  http::RequestReader reader_;  // parsing and its Idle/Head/Body states (socket-free)
  std::shared_ptr<http::BufferedResponseSink> sink_;
  // The request being answered, given to ServerState::requests when its
  // response is done (the handler may hold it a little longer).
  std::shared_ptr<http::Request> request_;
  // The request in progress is a WebSocket handshake the app has not answered yet.
  std::shared_ptr<WebSocketSession> ws_pending_;
  TimePoint head_done_at_{};

  std::shared_ptr<HttpConnection> keep_self_;  // held while Responding: the handler may be async
  static constexpr std::size_t kSideReadChunk = 4096;
  // Read-ahead target while Responding; allocated then, released when idle.
  std::unique_ptr<std::array<char, kSideReadChunk>> side_;
  bool side_read_ = false;
  bool read_in_flight_ = false;
  bool write_in_flight_ = false;
  bool flush_posted_ = false;
  bool in_handler_ = false;  // inside handler->handle(): output is flushed after it returns
  bool keep_alive_ = true;     // for the request in progress
  bool error_response_ = false;  // the current response is our own 4xx/5xx
  bool received_any_ = false;        // a byte of a request arrived on this connection
  // do_write() calls nested in one another through inline (immediate) writes.
  static constexpr int kMaxInlineWrites = 4;
  int inline_writes_ = 0;
  bool first_request_grace_ = false;  // drain() gave a fresh connection kFirstRequestGrace

  TimePoint deadline_ = TimePoint::max();
  TimePoint armed_at_ = TimePoint::max();
  bool timer_armed_ = false;

  // Connection facts copied into each Request.
  std::string peer_addr_;
  uint16_t peer_port_ = 0;
  std::string local_addr_;
  uint16_t local_port_ = 0;
};

}  // namespace hearth::net
