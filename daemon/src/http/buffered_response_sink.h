#pragma once
// The ResponseSink a connection hands to the handler. Turns start/body/finish
// into HTTP/1.1 bytes (status line, filtered headers, Date/Server/Connection,
// Content-Length, chunked or close-delimited framing, HEAD and no-body
// statuses) and queues them: memory up to response_buffer_size, then a temp
// file (Spool). The transport pulls bytes with next_output()/consume(), so
// body() never waits for the client. The temp file holds at most
// max_response_spool bytes (and all sinks sharing Options::spool_total at most
// max_total_response_spool together): bytes beyond go to a small overflow
// buffer and full() turns true, so the producer pauses until the client has
// read the file (back-pressure, as nginx's proxy_max_temp_file_size).
//
// Lifetime: shared by the connection and the handler. The connection calls
// detach() when it closes; after that every handler call is ignored and
// client_gone() is true.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "http/date_cache.h"
#include "http/handler.h"
#include "http/sink_transport.h"
#include "http/spool.h"

namespace hearth::http {

class BufferedResponseSink final : public ResponseSink {
 public:
  struct Options {
    int version = 11;         // request version: 10 or 11
    bool is_head = false;     // request method was HEAD: no body bytes
    bool keep_alive = true;   // the connection intends to stay open
    // A body_file() region is handed to the transport (file_region()) for
    // sendfile(2) instead of being read into next_output(). Plain TCP only.
    bool sendfile = false;
    // Bytes in the temp files of every sink sharing it (max_total_response_spool);
    // null: only max_response_spool applies. Must outlive the sink.
    uint64_t* spool_total = nullptr;
    // [[error_page]] bodies for simple() (held: a reload may replace the server's). Null: none.
    std::shared_ptr<const ErrorPages> error_pages;
  };

  // `limits`, `date` and `transport` must outlive the sink or be detached first.
  BufferedResponseSink(const config::HttpLimits& limits, const std::string& temp_dir,
                       DateCache* date, SinkTransport* transport, Options options);

  // --- ResponseSink (handler side) ---
  void start(int status, std::string_view reason, std::vector<Header> headers) override;
  void body(std::string_view data) override;
  [[nodiscard]] bool body_file(int fd, uint64_t offset, uint64_t length) override;
  void finish(bool ok) override;
  bool client_gone() const override { return transport_ == nullptr; }
  const ErrorPages* error_pages() const override { return options_.error_pages.get(); }
  bool full() const override { return !overflow_.empty(); }
  void when_writable(std::function<void()> cb) override;
  void set_streaming() override { streaming_ = true; }
  void watch_client(ClientGoneListener* listener) override { gone_listener_ = listener; }
  ~BufferedResponseSink() override;

  // --- transport side ---
  // The next bytes to write (empty when nothing is queued right now). Stays
  // valid until consume() or detach().
  std::string_view next_output();
  void consume(std::size_t n);
  // With Options::sendfile: once next_output() is empty, the file region
  // still to send (length 0 when none); consume_file() after sending.
  struct FileRegion {
    int fd = -1;
    uint64_t offset = 0;
    uint64_t length = 0;
  };
  FileRegion file_region() const { return {file_fd_, file_offset_, file_left_}; }
  void consume_file(uint64_t n);
  // The file region cannot be sent (it shrank, or a read failed): the
  // connection must close, the framing cannot be completed.
  void file_failed();
  // finish() was called and every byte was handed out and consumed.
  bool complete() const;
  // The connection must close after this response (framing, mismatch, failure).
  bool must_close() const { return must_close_; }
  bool started() const { return state_ != State::Fresh; }
  bool finished() const { return state_ == State::Finished; }
  int status() const { return status_; }
  uint64_t body_bytes() const { return body_sent_; }
  void detach();
  // Between keep-alive requests (net::HttpConnection keeps a few spare sinks per
  // server, ServerState::spare_sinks): recycle() is detach() that keeps the
  // output buffers' capacity and forgets the response (false, and detached as
  // by detach(), when a buffer grew past kKeptBuffer); reuse() makes a recycled
  // sink what the constructor makes, for the next response. Saves the sink's
  // allocation and its head buffer's per request (docs/profile.md).
  static constexpr std::size_t kKeptBuffer = 4 * 1024;
  [[nodiscard]] bool recycle();
  void reuse(SinkTransport* transport, Options options);
  // The connection will close after this response (server draining). Before
  // start() this also puts "Connection: close" into the head.
  void disable_keep_alive();

 private:
  // Life of the response as the handler drives it.
  enum class State {
    Fresh,     // nothing yet
    Started,   // head queued, body may follow
    Finished,  // finish() called
  };
  // How the body is delimited on the wire.
  enum class Framing {
    None,     // no body (HEAD, 1xx/204/304)
    Length,   // Content-Length
    Chunked,  // Transfer-Encoding: chunked
    Close,    // until the connection closes (HTTP/1.0 without a length)
  };

  void queue(std::string_view bytes);
  // A body piece: a large one is offered to the transport's write_now() first
  // (behind what out_ holds), only the rest is queued.
  void queue_body(std::string_view data);
  void notify();
  void clear_spill();
  void wake();  // full() turned false (or the client left): run the producer's callback

  const config::HttpLimits& limits_;
  const std::string* temp_dir_;
  DateCache* date_;
  SinkTransport* transport_;
  Options options_;

  State state_ = State::Fresh;
  Framing framing_ = Framing::None;
  int status_ = 0;
  bool must_close_ = false;
  uint64_t declared_ = 0;   // Content-Length when framing_ == Length
  uint64_t body_sent_ = 0;  // body bytes accepted from the handler

  // Output queue, in order: writing_[written_..], out_, then spill_[spill_read_..].
  std::string writing_;
  std::size_t written_ = 0;
  std::string out_;
  Spool spill_;  // created on first spill
  uint64_t spill_read_ = 0;
  bool spilling_ = false;
  bool spill_failed_ = false;
  // Bytes the spill may not take now (its limits); full() while non-empty. Bounded
  // by what the producer wrote before it saw full(): one read from the worker.
  std::string overflow_;
  std::function<void()> writable_;
  // set_streaming(): bytes beyond response_buffer_size go to overflow_ (full()), never to the spill.
  bool streaming_ = false;
  ClientGoneListener* gone_listener_ = nullptr;  // told once by detach()

  // The body_file() region, sent after everything above.
  int file_fd_ = -1;
  uint64_t file_offset_ = 0;
  uint64_t file_left_ = 0;
};

}  // namespace hearth::http
