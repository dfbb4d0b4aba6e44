#pragma once
// One HTTP/2 connection (h2c with prior knowledge, or h2 after TLS ALPN),
// served with nghttp2. Streams become the same buffered http::Request a
// HTTP/1 connection produces, go to the same RequestHandler (queue, workers),
// and answer through an H2 ResponseSink. Protections: stream concurrency,
// header-list size, rapid reset (our ResetBudget, then GOAWAY ENHANCE_YOUR_CALM;
// CVE-2023-44487), CONTINUATION floods (max continuations), body limits per
// stream, and the HTTP/1.1 timeouts' twins (one timer, next_deadline()):
//   header_timeout     a header block begun and not finished -> GOAWAY, close
//   body_timeout       a request body that stalls -> 408 + RST_STREAM(NO_ERROR)
//   keepalive_timeout  no stream open -> GOAWAY, close
// Memory and fds (issue 16): at most kMaxUploadingStreams streams of a connection
// receive a body at once and at most kMaxSpoolFiles of its bodies sit in temp files;
// each upload reserves the memory its body may take (up to body_buffer_size) in
// ServerState::h2_body_memory, bounded by max_buffered_memory. An upload beyond any
// of these is refused with RST_STREAM(REFUSED_STREAM): the client may retry it.
//
// Lifetime: shared_ptr held by pending Asio operations; registered in
// ServerState::h2_connections while open. Stream sinks may outlive the
// connection; they are detached when it closes.
#include <nghttp2/nghttp2.h>

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <array>
#include <deque>
#include <map>
#include <memory>
#include <string>

#include "http/request.h"
#include "net/reset_budget.h"
#include "net/server_state.h"
#include "net/stream.h"

namespace hearth::net {

class H2Sink;

class H2Connection final : public std::enable_shared_from_this<H2Connection> {
 public:
  struct Stream;

  // `initial`: bytes already read from the stream (the client preface).
  H2Connection(net::Stream stream, std::shared_ptr<ServerState> state, std::string initial, bool tls);
  ~H2Connection();
  void start();
  void drain();   // GOAWAY; close when the open streams are done
  void abort();
  bool busy() const { return !streams_.empty(); }

  // For H2Sink.
  void on_stream_output(int32_t stream_id);

 private:
  // The connection's life.
  enum class Phase {
    Open,      // serving streams
    Draining,  // GOAWAY sent; finishing open streams
    Closed,
  };

  static ssize_t send_cb(nghttp2_session*, const uint8_t*, size_t, int, void*);
  static int on_begin_headers(nghttp2_session*, const nghttp2_frame*, void*);
  static int on_header(nghttp2_session*, const nghttp2_frame*, const uint8_t*, size_t, const uint8_t*, size_t,
                       uint8_t, void*);
  static int on_frame_recv(nghttp2_session*, const nghttp2_frame*, void*);
  static int on_data_chunk(nghttp2_session*, uint8_t, int32_t, const uint8_t*, size_t, void*);
  static int on_stream_close(nghttp2_session*, int32_t, uint32_t, void*);
  static int on_frame_send(nghttp2_session*, const nghttp2_frame*, void*);
  static ssize_t read_body(nghttp2_session*, int32_t, uint8_t*, size_t, uint32_t*, nghttp2_data_source*, void*);

  void feed(const char* data, std::size_t n);
  void do_read();
  void flush();
  void do_write();
  void dispatch(Stream& s);
  void submit_response(Stream& s);
  void maybe_close();
  void close_now();
  // Timeouts: the earliest deadline of the connection and its streams; the
  // timer is re-armed only when a new deadline is earlier than the armed one.
  TimePoint next_deadline() const;
  void schedule_timer();
  void on_timer();
  void fail(uint32_t error_code, const char* why);  // GOAWAY(error_code), then close
  // Uploads: admit a stream whose body is coming, or refuse it; give back what it held.
  [[nodiscard]] bool admit_upload(Stream& s);
  void refuse(Stream& s, const char* why);
  void forget(Stream& s);

  net::Stream stream_;
  std::shared_ptr<ServerState> state_;
  std::string initial_;
  bool tls_;
  nghttp2_session* session_ = nullptr;
  Phase phase_ = Phase::Open;
  bool failed_ = false;  // fatal protocol error: GOAWAY, then close whatever the open streams
  std::map<int32_t, std::unique_ptr<Stream>> streams_;
  std::array<char, 16384> rbuf_{};
  std::string wbuf_;      // being written
  bool writing_ = false;
  bool reading_ = false;
  boost::asio::steady_timer timer_;
  bool timer_armed_ = false;
  TimePoint timer_due_{};
  TimePoint idle_since_{};  // when the last stream closed (or the connection opened)
  ResetBudget resets_;
  uint32_t uploading_ = 0;    // streams receiving a body
  uint32_t spool_files_ = 0;  // streams whose body is in a temp file
  uint64_t id_ = 0;
  std::string peer_addr_, local_addr_;
  uint16_t peer_port_ = 0, local_port_ = 0;
};

}  // namespace hearth::net
