#include "net/h2_connection.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <utility>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "common/log.h"
#include "http/error_pages.h"
#include "http/hop_by_hop.h"
#include "http/request_checks.h"
#include "http/status_text.h"

namespace hearth::net {

namespace asio = boost::asio;

namespace {
constexpr std::size_t kMaxPendingOutput = 256 * 1024;
// Rapid reset (CVE-2023-44487): at most 1000 resets in a burst, 33/s after, as
// nghttpx does. Ours trips first and ends the session with ENHANCE_YOUR_CALM;
// nghttp2's own limit (which would say INTERNAL_ERROR) is set to twice this, a backstop.
constexpr uint32_t kResetBurst = 1000;
constexpr uint32_t kResetsPerSecond = 33;
// Per connection: streams receiving a body at once, and bodies in temp files.
constexpr uint32_t kMaxUploadingStreams = 16;
constexpr uint32_t kMaxSpoolFiles = 16;
// Counted as released when a connection closes (its nghttp2 session, buffers).
constexpr uint64_t kConnectionFootprint = 64 * 1024;
}  // namespace

// Per-stream state: the request being received, then the response.
struct H2Connection::Stream {
  int32_t id = 0;
  std::shared_ptr<http::Request> request = std::make_shared<http::Request>();
  std::string authority, scheme, path;
  uint64_t header_bytes = 0;
  // Timeouts (request side).
  TimePoint began{};          // HEADERS received: header_timeout runs until the block ends
  bool headers_done = false;  // END_HEADERS seen
  bool remote_closed = false; // END_STREAM seen: the request body is complete
  TimePoint last_input{};     // headers done or the last DATA: body_timeout runs from here
  bool timed_out = false;     // body_timeout fired: 408 submitted, then RST_STREAM
  bool reset_after_response = false;  // RST_STREAM(NO_ERROR) once the response's END_STREAM is sent
  // Memory and fds (admit_upload / forget).
  bool uploading = false;     // counted in H2Connection::uploading_
  bool spooled = false;       // counted in H2Connection::spool_files_
  bool refused = false;       // RST_STREAM(REFUSED_STREAM) submitted; its DATA is dropped
  uint64_t reserved = 0;      // bytes counted in ServerState::h2_body_memory
  bool forgotten = false;     // forget() ran
  // Back-pressure: a response is held in memory (`out`) up to response_buffer_size;
  // beyond it the producer waits for this callback (run as nghttp2 takes the bytes).
  std::size_t out_limit = 0;
  std::function<void()> writable;
  bool too_large = false;
  bool dispatched = false;
  std::shared_ptr<H2Sink> sink;
  // Response.
  bool submitted = false;
  int status = 0;
  std::vector<http::Header> headers;
  std::string out;       // body bytes not yet taken by nghttp2
  bool out_eof = false;  // finish() seen
  bool failed = false;   // finish(false): RST_STREAM instead of a clean end
  bool deferred = false;
  // A body_file() region, copied into DATA frames after `out` in chunks
  // nghttp2 asks for (never the whole file in memory).
  int file_fd = -1;
  uint64_t file_offset = 0;
  uint64_t file_left = 0;
  ~Stream() {
    if (file_fd >= 0) ::close(file_fd);
  }
};

// The ResponseSink for one stream.
class H2Sink final : public http::ResponseSink {
 public:
  H2Sink(std::weak_ptr<H2Connection> conn, H2Connection::Stream* s, int32_t id,
         std::shared_ptr<const http::ErrorPages> pages)
      : conn_(std::move(conn)), s_(s), id_(id), pages_(std::move(pages)) {}
  const http::ErrorPages* error_pages() const override { return pages_.get(); }
  void start(int status, std::string_view, std::vector<http::Header> headers) override {
    if (!s_ || s_->status) return;
    s_->status = status;
    s_->headers = std::move(headers);
    notify();
  }
  void body(std::string_view data) override {
    if (!s_ || s_->out_eof) return;
    s_->out.append(data);
    notify();
  }
  bool body_file(int fd, uint64_t offset, uint64_t length) override {
    if (!s_ || s_->out_eof || length == 0) return true;
    if (s_->file_fd >= 0) return false;  // one region per response
    int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup < 0) return false;
    s_->file_fd = dup;
    s_->file_offset = offset;
    s_->file_left = length;
    notify();
    return true;
  }
  void finish(bool ok) override {
    if (!s_ || s_->out_eof) return;
    s_->out_eof = true;
    s_->failed = !ok || s_->status == 0;
    notify();
  }
  bool client_gone() const override { return s_ == nullptr; }
  bool full() const override { return s_ != nullptr && s_->out.size() >= s_->out_limit; }
  void when_writable(std::function<void()> cb) override {
    if (!full()) {
      if (cb) cb();
      return;
    }
    s_->writable = std::move(cb);
  }
  // A stream is never spooled: `out` is bounded by out_limit already (full()).
  void set_streaming() override {}
  void watch_client(http::ClientGoneListener* listener) override { gone_listener_ = listener; }
  void detach() {
    // The stream closed (reset by the client, or the connection went): tell a producer
    // whose response had not ended.
    const bool ended = s_ == nullptr || s_->out_eof;
    s_ = nullptr;
    if (auto* l = std::exchange(gone_listener_, nullptr); l && !ended) l->on_client_gone();
  }

 private:
  void notify() {
    if (auto c = conn_.lock()) c->on_stream_output(id_);
  }
  std::weak_ptr<H2Connection> conn_;
  H2Connection::Stream* s_;
  int32_t id_;
  std::shared_ptr<const http::ErrorPages> pages_;  // [[error_page]]; null: none
  http::ClientGoneListener* gone_listener_ = nullptr;
};

H2Connection::H2Connection(net::Stream stream, std::shared_ptr<ServerState> state, std::string initial, bool tls)
    : stream_(std::move(stream)), state_(std::move(state)), initial_(std::move(initial)), tls_(tls),
      timer_(stream_.get_executor()),
      idle_since_(Clock::now()),
      resets_(kResetBurst, kResetsPerSecond, Clock::now()) {
  id_ = state_->next_connection_id++;
  boost::system::error_code ec;
  auto remote = stream_.socket().remote_endpoint(ec);
  if (!ec && (remote.protocol().family() == AF_INET || remote.protocol().family() == AF_INET6)) {
    asio::ip::tcp::endpoint ep;
    ep.resize(remote.size());
    std::memcpy(ep.data(), remote.data(), remote.size());
    peer_addr_ = ep.address().to_string();
    peer_port_ = ep.port();
  }
  if (const auto* client = stream_.proxied_client()) {
    peer_addr_ = client->addr;
    peer_port_ = client->port;
  }
  auto local = stream_.socket().local_endpoint(ec);
  if (!ec && (local.protocol().family() == AF_INET || local.protocol().family() == AF_INET6)) {
    asio::ip::tcp::endpoint ep;
    ep.resize(local.size());
    std::memcpy(ep.data(), local.data(), local.size());
    local_addr_ = ep.address().to_string();
    local_port_ = ep.port();
  }
}

H2Connection::~H2Connection() {
  for (auto& [id, s] : streams_) {
    if (s->sink) s->sink->detach();
    forget(*s);
  }
  if (session_) nghttp2_session_del(session_);
}

void H2Connection::start() {
  state_->h2_connections.insert(this);
  nghttp2_session_callbacks* cbs;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_send_callback(cbs, &H2Connection::send_cb);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, &H2Connection::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs, &H2Connection::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &H2Connection::on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &H2Connection::on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &H2Connection::on_stream_close);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, &H2Connection::on_frame_send);
  nghttp2_option* opt;
  nghttp2_option_new(&opt);
  // Rapid reset: see kResetBurst; this is only the backstop.
  nghttp2_option_set_stream_reset_rate_limit(opt, 2 * kResetBurst, 2 * kResetsPerSecond);
  // CONTINUATION floods (CVE-2024-28182).
  nghttp2_option_set_max_continuations(opt, 8);
  nghttp2_option_set_max_settings(opt, 32);
  nghttp2_option_set_max_outbound_ack(opt, 1000);
  const auto& l = state_->limits;
  nghttp2_option_set_max_deflate_dynamic_table_size(opt, 4096);
  nghttp2_session_server_new2(&session_, cbs, this, opt);
  nghttp2_session_callbacks_del(cbs);
  nghttp2_option_del(opt);

  nghttp2_settings_entry iv[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, l.h2_max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, l.h2_initial_window_size},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<uint32_t>(std::min<uint64_t>(l.max_header_size, UINT32_MAX))},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof iv[0]);
  // A larger connection window than the 64 KiB default, so uploads are not throttled.
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, 16 * 1024 * 1024);
  if (!initial_.empty()) {
    std::string init = std::move(initial_);
    feed(init.data(), init.size());
  }
  flush();
  do_read();
  schedule_timer();
}

TimePoint H2Connection::next_deadline() const {
  const auto& l = state_->limits;
  if (streams_.empty()) return idle_since_ + l.keepalive_timeout;
  TimePoint next = TimePoint::max();
  for (const auto& [id, s] : streams_) {
    if (!s->headers_done) next = std::min(next, s->began + l.header_timeout);
    else if (!s->remote_closed && !s->timed_out) next = std::min(next, s->last_input + l.body_timeout);
  }
  return next;
}

void H2Connection::schedule_timer() {
  if (phase_ == Phase::Closed || failed_) return;
  TimePoint due = next_deadline();
  if (due == TimePoint::max() || (timer_armed_ && timer_due_ <= due)) return;
  // Re-arming cancels the pending wait; its handler sees operation_aborted.
  timer_armed_ = true;
  timer_due_ = due;
  timer_.expires_at(due);
  timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    if (ec == asio::error::operation_aborted) return;
    if (auto self = weak.lock()) {
      self->timer_armed_ = false;
      self->on_timer();
    }
  });
}

void H2Connection::on_timer() {
  if (phase_ == Phase::Closed || failed_) return;
  const auto& l = state_->limits;
  TimePoint now = Clock::now();
  if (streams_.empty()) {
    if (now >= idle_since_ + l.keepalive_timeout) {
      HLOG_CTX(Debug, state_->name, "h2 connection " << id_ << ": idle for keepalive_timeout, closing");
      drain();  // GOAWAY(NO_ERROR); with no stream open it closes once that is written
      return;
    }
  }
  for (auto& [id, sp] : streams_) {
    Stream& s = *sp;
    if (!s.headers_done && now >= s.began + l.header_timeout) {
      // A header block blocks the whole connection (only CONTINUATION may follow it).
      fail(NGHTTP2_PROTOCOL_ERROR, "header block not finished within header_timeout");
      return;
    }
  }
  for (auto& [id, sp] : streams_) {
    Stream& s = *sp;
    if (!s.headers_done || s.remote_closed || s.timed_out || now < s.last_input + l.body_timeout) continue;
    HLOG_CTX(Debug, state_->name, "h2 connection " << id_ << " stream " << s.id << ": request body stalled (body_timeout)");
    s.timed_out = true;
    if (!s.submitted && !s.dispatched) {
      // 408 without a body, then RST_STREAM(NO_ERROR): RFC 9113 8.1 lets a server that has
      // answered ask the client to stop sending. The reset is submitted once the 408 is sent
      // (on_frame_send): submitted now, nghttp2 would mark the stream closing and drop the 408.
      s.dispatched = true;
      s.status = 408;
      s.headers = {http::Header{"Content-Length", "0"}};
      s.out_eof = true;
      s.request->is_head = true;  // no DATA frame
      s.reset_after_response = true;
      submit_response(s);
    } else {
      nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s.id, NGHTTP2_CANCEL);
    }
  }
  flush();
  schedule_timer();
}

void H2Connection::fail(uint32_t error_code, const char* why) {
  if (phase_ == Phase::Closed || failed_) return;
  HLOG_CTX(Debug, state_->name, "h2 connection " << id_ << ": " << why);
  failed_ = true;
  nghttp2_session_terminate_session(session_, error_code);
  phase_ = Phase::Draining;
  flush();
  maybe_close();
}

void H2Connection::feed(const char* data, std::size_t n) {
  if (phase_ == Phase::Closed || failed_) return;
  ssize_t rv = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(data), n);
  if (rv < 0) {
    HLOG_CTX(Debug, state_->name, "h2 connection " << id_ << ": " << nghttp2_strerror(static_cast<int>(rv)));
    // A fatal error (e.g. NGHTTP2_ERR_TOO_MANY_CONTINUATIONS, NGHTTP2_ERR_FLOODED) leaves the
    // session unable to read on and queues no GOAWAY itself: queue one (a no-op when nghttp2
    // already did), send it, then close even though streams are still open.
    failed_ = true;
    nghttp2_session_terminate_session(session_, rv == NGHTTP2_ERR_FLOODED || rv == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS
                                                    ? NGHTTP2_ENHANCE_YOUR_CALM
                                                    : NGHTTP2_PROTOCOL_ERROR);
    phase_ = Phase::Draining;
    flush();
    maybe_close();
  }
}

void H2Connection::do_read() {
  if (reading_ || phase_ == Phase::Closed) return;
  reading_ = true;
  stream_.async_read_some(asio::buffer(rbuf_), [self = shared_from_this()](const boost::system::error_code& ec,
                                                                           std::size_t n) {
    self->reading_ = false;
    if (ec) {
      self->close_now();
      return;
    }
    self->feed(self->rbuf_.data(), n);
    self->flush();
    if (self->phase_ != Phase::Closed) self->do_read();
  });
}

ssize_t H2Connection::send_cb(nghttp2_session*, const uint8_t* data, size_t len, int, void* user) {
  auto* self = static_cast<H2Connection*>(user);
  // Bounded output: nghttp2 keeps the frame and offers it again after the
  // write completes, so a large body (a static file) is never serialised
  // into memory beyond this much at once, whatever the client's window.
  if (self->wbuf_.size() >= kMaxPendingOutput) return NGHTTP2_ERR_WOULDBLOCK;
  self->wbuf_.append(reinterpret_cast<const char*>(data), len);
  return static_cast<ssize_t>(len);
}

void H2Connection::flush() {
  if (phase_ == Phase::Closed || !session_) return;
  if (!writing_) {
    // nghttp2 serialises frames into wbuf_ through send_cb.
    while (nghttp2_session_want_write(session_) && wbuf_.size() < kMaxPendingOutput) {
      if (nghttp2_session_send(session_) != 0) break;
      if (!nghttp2_session_want_write(session_)) break;
    }
    do_write();
  }
}

void H2Connection::do_write() {
  if (writing_ || wbuf_.empty() || phase_ == Phase::Closed) {
    maybe_close();
    return;
  }
  writing_ = true;
  auto buf = std::make_shared<std::string>(std::move(wbuf_));
  wbuf_.clear();
  asio::async_write(stream_, asio::buffer(*buf), [self = shared_from_this(), buf](const boost::system::error_code& ec,
                                                                                  std::size_t) {
    self->writing_ = false;
    if (ec) {
      self->close_now();
      return;
    }
    self->flush();
  });
}

void H2Connection::maybe_close() {
  if (phase_ == Phase::Closed || writing_ || !wbuf_.empty()) return;
  bool done = failed_ ? !nghttp2_session_want_write(session_)
              : phase_ == Phase::Draining ? streams_.empty()
                                        : (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_));
  if (done) close_now();
}

void H2Connection::close_now() {
  if (phase_ == Phase::Closed) return;
  phase_ = Phase::Closed;
  timer_.cancel();
  boost::system::error_code ec;
  stream_.socket().shutdown(asio::socket_base::shutdown_both, ec);
  stream_.socket().close(ec);
  for (auto& [id, s] : streams_) {
    if (s->sink) s->sink->detach();
    forget(*s);
  }
  state_->h2_connections.erase(this);
  state_->trimmer->released(kConnectionFootprint);
}

void H2Connection::drain() {
  if (phase_ != Phase::Open || failed_) return;
  phase_ = Phase::Draining;
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_),
                        NGHTTP2_NO_ERROR, nullptr, 0);
  flush();
  maybe_close();
}

void H2Connection::abort() { close_now(); }

int H2Connection::on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto* self = static_cast<H2Connection*>(user);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  auto s = std::make_unique<Stream>();
  s->id = frame->hd.stream_id;
  s->request->version = 20;
  s->request->tls = self->tls_;
  s->request->peer_addr = self->peer_addr_;
  s->request->peer_port = self->peer_port_;
  s->request->local_addr = self->local_addr_;
  s->request->local_port = self->local_port_;
  s->request->connection_id = self->id_;
  s->request->body.configure(self->state_->limits.body_buffer_size, self->state_->spool_files);
  s->began = Clock::now();
  s->out_limit = static_cast<std::size_t>(std::max<uint64_t>(self->state_->limits.response_buffer_size, 16384));
  self->streams_[s->id] = std::move(s);
  self->schedule_timer();
  return 0;
}

int H2Connection::on_header(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                            const uint8_t* value, size_t valuelen, uint8_t, void* user) {
  auto* self = static_cast<H2Connection*>(user);
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  auto it = self->streams_.find(frame->hd.stream_id);
  if (it == self->streams_.end()) return 0;
  Stream& s = *it->second;
  s.header_bytes += namelen + valuelen + 32;
  if (s.header_bytes > self->state_->limits.max_header_size ||
      s.request->headers.size() >= self->state_->limits.max_headers ||
      (self->state_->limits.max_header_field_size > 0 &&
       namelen + 2 + valuelen > self->state_->limits.max_header_field_size)) {
    // HPACK bombs and oversized header lists: refuse the stream.
    s.too_large = true;
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
  std::string_view n(reinterpret_cast<const char*>(name), namelen);
  std::string_view v(reinterpret_cast<const char*>(value), valuelen);
  if (!n.empty() && n[0] == ':') {
    if (n == ":method") s.request->method = std::string(v);
    else if (n == ":path") s.path = std::string(v);
    else if (n == ":authority") s.authority = std::string(v);
    else if (n == ":scheme") s.scheme = std::string(v);
    return 0;
  }
  s.request->headers.push_back(http::Header{std::string(n), std::string(v)});
  return 0;
}

int H2Connection::on_data_chunk(nghttp2_session* session, uint8_t, int32_t stream_id, const uint8_t* data, size_t len,
                                void* user) {
  auto* self = static_cast<H2Connection*>(user);
  auto it = self->streams_.find(stream_id);
  if (it == self->streams_.end()) return 0;
  Stream& s = *it->second;
  s.last_input = Clock::now();
  if (s.refused) return 0;
  const auto& l = self->state_->limits;
  if (s.request->body.in_memory() && s.request->body.size() + len > l.body_buffer_size &&
      s.request->body.size() + len <= l.max_body_size && !s.dispatched) {
    // This chunk moves the body to a temp file: one more fd for this connection.
    if (self->spool_files_ >= kMaxSpoolFiles) {
      self->refuse(s, "too many request bodies in temp files on this connection");
      return 0;
    }
  }
  if (s.request->body.size() + len > self->state_->limits.max_body_size) {
    if (!s.dispatched) {
      s.dispatched = true;
      s.status = 413;
      s.headers = {http::Header{"Content-Type", "text/plain"}};
      s.out = "Payload Too Large\n";
      if (const auto* page = self->state_->error_pages ? self->state_->error_pages->find(413) : nullptr) {
        s.headers = {http::Header{"Content-Type", page->content_type}};
        s.out = page->body;
      }
      s.out_eof = true;
      self->submit_response(s);
    }
    return 0;
  }
  if (s.request->body.append(std::string_view(reinterpret_cast<const char*>(data), len))) {
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_INTERNAL_ERROR);
  }
  if (!s.spooled && !s.request->body.in_memory()) {
    s.spooled = true;
    ++self->spool_files_;
  }
  return 0;
}

int H2Connection::on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto* self = static_cast<H2Connection*>(user);
  if (frame->hd.type == NGHTTP2_RST_STREAM && !self->resets_.take(Clock::now())) {
    // Rapid reset: nghttp2 ignores the rest of the input once the session is terminated.
    HLOG_CTX(Warn, self->state_->name, "h2 connection " << self->id_ << " from " << self->peer_addr_
                                                        << ": too many stream resets, GOAWAY ENHANCE_YOUR_CALM");
    self->failed_ = true;
    self->phase_ = Phase::Draining;
    nghttp2_session_terminate_session(self->session_, NGHTTP2_ENHANCE_YOUR_CALM);
    return 0;
  }
  if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) return 0;
  auto it = self->streams_.find(frame->hd.stream_id);
  if (it == self->streams_.end()) return 0;
  Stream& s = *it->second;
  if (frame->hd.type == NGHTTP2_HEADERS && !s.headers_done) {
    s.headers_done = true;
    s.last_input = Clock::now();
    if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM) && !self->admit_upload(s)) return 0;
  }
  if (s.refused) return 0;
  if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) {
    s.remote_closed = true;
    if (s.uploading) {
      s.uploading = false;
      --self->uploading_;
    }
    if (!s.dispatched) self->dispatch(s);
  } else {
    self->schedule_timer();  // body_timeout from now
  }
  return 0;
}

int H2Connection::on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t, void* user) {
  auto* self = static_cast<H2Connection*>(user);
  auto it = self->streams_.find(stream_id);
  if (it == self->streams_.end()) return 0;
  if (it->second->sink) it->second->sink->detach();
  self->forget(*it->second);
  self->streams_.erase(it);
  if (self->streams_.empty()) {
    self->idle_since_ = Clock::now();
    self->schedule_timer();  // keepalive_timeout from now
  }
  if (self->phase_ == Phase::Draining) {
    asio::post(self->stream_.get_executor(), [weak = self->weak_from_this()] {
      if (auto s = weak.lock()) s->maybe_close();
    });
  }
  return 0;
}

bool H2Connection::admit_upload(Stream& s) {
  const auto& l = state_->limits;
  // Reserve what the body may hold in memory: body_buffer_size, or less when it says its length.
  uint64_t want = l.body_buffer_size;
  for (const auto& h : s.request->headers) {
    if (http::iequals(h.name, "content-length")) {
      uint64_t n = 0;
      auto [p, ec] = std::from_chars(h.value.data(), h.value.data() + h.value.size(), n);
      if (ec == std::errc() && p == h.value.data() + h.value.size()) want = std::min(want, n);
      break;
    }
  }
  if (uploading_ >= kMaxUploadingStreams) {
    refuse(s, "too many uploading streams on this connection");
    return false;
  }
  if (state_->h2_body_memory + want > l.max_buffered_memory) {
    refuse(s, "max_buffered_memory reached");
    return false;
  }
  s.uploading = true;
  ++uploading_;
  s.reserved = want;
  state_->h2_body_memory += want;
  return true;
}

void H2Connection::refuse(Stream& s, const char* why) {
  HLOG_CTX(Debug, state_->name, "h2 connection " << id_ << " stream " << s.id << " refused: " << why);
  s.refused = true;
  s.dispatched = true;  // never reaches the app
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s.id, NGHTTP2_REFUSED_STREAM);
}

void H2Connection::forget(Stream& s) {
  if (s.forgotten) return;
  s.forgotten = true;
  if (s.uploading) {
    s.uploading = false;
    --uploading_;
  }
  if (s.spooled) {
    s.spooled = false;
    --spool_files_;
  }
  state_->h2_body_memory -= s.reserved;
  s.reserved = 0;
  if (s.writable) {  // a paused producer must drain its worker (into nothing)
    auto cb = std::move(s.writable);
    s.writable = nullptr;
    cb();
  }
  if (s.request->body.size() >= 64 * 1024) state_->trimmer->released(s.request->body.size());
}

int H2Connection::on_frame_send(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
  auto* self = static_cast<H2Connection*>(user);
  if ((frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) ||
      !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
    return 0;
  auto it = self->streams_.find(frame->hd.stream_id);
  if (it != self->streams_.end() && it->second->reset_after_response) {
    it->second->reset_after_response = false;
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
  }
  return 0;
}

void H2Connection::dispatch(Stream& s) {
  s.dispatched = true;
  auto& r = *s.request;
  r.is_head = r.method == "HEAD";
  r.keep_alive = true;
  r.received_at = Clock::now();
  // :authority, else a host header, is the Host the app sees: only a valid
  // host[:port] (as for HTTP/1.1); with both, :authority wins (RFC 9113 8.3.1).
  bool bad_host = !http::is_valid_host(s.authority);
  for (const auto& h : r.headers) {
    if (http::iequals(h.name, "host") && !http::is_valid_host(h.value)) bad_host = true;
  }
  if (!s.authority.empty()) {
    std::erase_if(r.headers, [](const http::Header& h) { return http::iequals(h.name, "host"); });
  }
  if (bad_host || r.method.empty() || (s.path.empty() && r.method != "CONNECT")) {
    s.status = 400;
    s.headers = {http::Header{"Content-Type", "text/plain"}};
    s.out = "Bad Request\n";
    s.out_eof = true;
    submit_response(s);
    return;
  }
  r.target = s.path;
  if (!s.authority.empty()) r.headers.insert(r.headers.begin(), http::Header{"Host", s.authority});
  auto* handler = state_->handler;
  if (!handler) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s.id, NGHTTP2_REFUSED_STREAM);
    return;
  }
  s.sink = std::make_shared<H2Sink>(weak_from_this(), &s, s.id, state_->error_pages);
  handler->handle(s.request, s.sink);
  flush();
}

void H2Connection::on_stream_output(int32_t stream_id) {
  auto it = streams_.find(stream_id);
  if (it == streams_.end() || phase_ == Phase::Closed) return;
  Stream& s = *it->second;
  if (!s.submitted && s.status != 0) submit_response(s);
  else if (s.submitted && s.deferred) {
    s.deferred = false;
    nghttp2_session_resume_data(session_, s.id);
  }
  if (s.out_eof && s.failed && s.submitted) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s.id, NGHTTP2_INTERNAL_ERROR);
  } else if (s.out_eof && s.failed && !s.submitted) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s.id, NGHTTP2_INTERNAL_ERROR);
  }
  // Coalesce: write once this call chain is done.
  asio::post(stream_.get_executor(), [weak = weak_from_this()] {
    if (auto self = weak.lock()) self->flush();
  });
}

ssize_t H2Connection::read_body(nghttp2_session*, int32_t stream_id, uint8_t* buf, size_t length, uint32_t* flags,
                                nghttp2_data_source*, void* user) {
  auto* self = static_cast<H2Connection*>(user);
  auto it = self->streams_.find(stream_id);
  if (it == self->streams_.end()) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  Stream& s = *it->second;
  std::size_t n = std::min(length, s.out.size());
  std::memcpy(buf, s.out.data(), n);
  s.out.erase(0, n);
  if (s.writable && s.out.size() < s.out_limit) {
    auto cb = std::move(s.writable);
    s.writable = nullptr;
    cb();  // the producer posts its resume
  }
  if (n == 0 && s.file_left > 0) {
    std::size_t want = static_cast<std::size_t>(std::min<uint64_t>(length, s.file_left));
    ssize_t r;
    do {
      r = ::pread(s.file_fd, buf, want, static_cast<off_t>(s.file_offset));
    } while (r < 0 && errno == EINTR);
    if (r <= 0) {
      HLOG_CTX(Warn, self->state_->name, "h2 stream " << stream_id << ": static file read failed");
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // resets the stream
    }
    n = static_cast<std::size_t>(r);
    s.file_offset += n;
    s.file_left -= n;
    if (s.file_left == 0) {
      ::close(s.file_fd);
      s.file_fd = -1;
    }
  }
  if (s.out.empty() && s.file_left == 0 && s.out_eof) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }
  if (n == 0) {
    s.deferred = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  return static_cast<ssize_t>(n);
}

void H2Connection::submit_response(Stream& s) {
  s.submitted = true;
  std::string status = std::to_string(s.status);
  std::vector<std::string> lower;  // keeps lower-cased names alive
  lower.reserve(s.headers.size() + 2);
  std::vector<nghttp2_nv> nva;
  auto add = [&](const std::string& n, const std::string& v) {
    nva.push_back(nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(n.data())),
                             reinterpret_cast<uint8_t*>(const_cast<char*>(v.data())), n.size(), v.size(),
                             NGHTTP2_NV_FLAG_NONE});
  };
  static const std::string kStatus = ":status";
  add(kStatus, status);
  bool has_server = false;
  for (auto& h : s.headers) {
    if (http::is_hop_by_hop(h.name)) continue;  // the same list as HTTP/1 (http/hop_by_hop.h)
    std::string n = h.name;
    for (auto& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (n == "server") has_server = true;
    lower.push_back(std::move(n));
    add(lower.back(), h.value);
  }
  static const std::string kServer = "server";
  if (!has_server && !state_->limits.server_header.empty()) add(kServer, state_->limits.server_header);
  static const std::string kDate = "date";
  std::string date(state_->date.now());
  add(kDate, date);
  bool no_body = s.request->is_head || s.status == 204 || s.status == 304 || (s.status >= 100 && s.status < 200);
  if (no_body) {
    s.out.clear();
    nghttp2_submit_response(session_, s.id, nva.data(), nva.size(), nullptr);
    return;
  }
  nghttp2_data_provider prd;
  prd.source.ptr = nullptr;
  prd.read_callback = &H2Connection::read_body;
  nghttp2_submit_response(session_, s.id, nva.data(), nva.size(), &prd);
}

}  // namespace hearth::net
