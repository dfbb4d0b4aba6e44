#include "http/buffered_response_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <charconv>

#include <algorithm>
#include <cstring>
#include <utility>

#include "common/log.h"
#include "http/hop_by_hop.h"
#include "http/request_checks.h"
#include "http/status_text.h"

namespace hearth::http {
namespace {

constexpr std::size_t kSpillReadChunk = 64 * 1024;
// body_file() regions up to this size are copied into the output buffer.
constexpr uint64_t kInlineFileMax = 32 * 1024;

// What start() does with an app's header, decided by the name's length first.
enum class Kind { Other, ContentLength, Server, Date, HopByHop };

Kind classify(std::string_view name) {
  if (is_hop_by_hop(name)) return Kind::HopByHop;
  switch (name.size()) {
    // Literals in the canonical spelling: an app's usual "Content-Length" then
    // compares word for word, without the case-folding path of iequals.
    case 4: return iequals(name, "Date") ? Kind::Date : Kind::Other;
    case 6: return iequals(name, "Server") ? Kind::Server : Kind::Other;
    case 14: return iequals(name, "Content-Length") ? Kind::ContentLength : Kind::Other;
    default: return Kind::Other;
  }
}

// A header the app set that cannot go on the wire as-is (response splitting).
bool is_unsafe(const Header& h) {
  if (!is_token(h.name)) return true;
  for (char c : h.value) {
    if (c == '\r' || c == '\n' || c == '\0') return true;
  }
  return false;
}

// Writes a response head into a string sized once up front (grown only if the
// estimate was short), with plain copies instead of an append call per piece.
class HeadWriter {
 public:
  HeadWriter(std::string& out, std::size_t bound) : out_(out), len_(out.size()) { out_.resize(len_ + bound); }
  // Compiled into start(): some twenty calls per response, each a short copy.
  [[gnu::always_inline]] void add(std::string_view s) {
    if (out_.size() - len_ < s.size()) [[unlikely]] out_.resize(std::max(out_.size() * 2, len_ + s.size()));
    std::memcpy(out_.data() + len_, s.data(), s.size());
    len_ += s.size();
  }
  void number(uint64_t v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    add(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
  }
  void finish() { out_.resize(len_); }

 private:
  std::string& out_;
  std::size_t len_;
};

}  // namespace

BufferedResponseSink::BufferedResponseSink(const config::HttpLimits& limits,
                                           const std::string& temp_dir, DateCache* date,
                                           SinkTransport* transport, Options options)
    : limits_(limits),
      temp_dir_(&temp_dir),
      date_(date),
      transport_(transport),
      options_(std::move(options)) {}

void BufferedResponseSink::start(int status, std::string_view reason, std::vector<Header> headers) {
  if (transport_ == nullptr || state_ != State::Fresh) return;
  if (status < 100 || status > 999) status = 500;
  state_ = State::Started;
  status_ = status;

  const bool no_body_status = status < 200 || status == 204 || status == 304;
  // Content-Length from the app: valid only if every copy parses and agrees.
  uint64_t length = 0;
  bool has_length = false;
  bool length_bad = false;
  bool has_server = false;
  bool has_date = false;
  // Each header's kind, computed once (a few headers; more are classified again below).
  constexpr std::size_t kKnown = 16;
  Kind kinds[kKnown];
  for (std::size_t i = 0; i < headers.size(); ++i) {
    const Header& h = headers[i];
    const Kind k = classify(h.name);
    if (i < kKnown) kinds[i] = k;
    if (k == Kind::ContentLength) {
      auto v = parse_content_length(h.value);
      if (!v || (has_length && length != *v)) {
        length_bad = true;
      } else {
        length = *v;
        has_length = true;
      }
    } else if (k == Kind::Server) {
      has_server = true;
    } else if (k == Kind::Date) {
      has_date = true;
    }
  }
  if (length_bad) has_length = false;

  if (no_body_status) {
    framing_ = Framing::None;
  } else if (has_length) {
    framing_ = Framing::Length;
    declared_ = length;
  } else if (options_.is_head) {
    framing_ = Framing::None;
  } else if (options_.version >= 11) {
    framing_ = Framing::Chunked;
  } else {
    framing_ = Framing::Close;
  }
  if (framing_ == Framing::Close || !options_.keep_alive) must_close_ = true;

  // The head goes straight into the (empty) output buffer: one allocation,
  // and body bytes that follow land behind it for a single write. Sized once
  // from what can go in, then filled with plain copies.
  // A reason with CR or LF is replaced (a byte loop: find_first_of costs a memchr per byte).
  bool reason_ok = !reason.empty();
  for (char c : reason) reason_ok &= c != '\r' && c != '\n';
  const std::string_view reason_text = reason_ok ? reason : reason_phrase(status);
  const std::string_view date = !has_date && date_ != nullptr ? std::string_view(date_->now()) : std::string_view();
  std::size_t bound = 160 + reason_text.size() + date.size() + limits_.server_header.size();
  for (const Header& h : headers) bound += h.name.size() + h.value.size() + 4;
  HeadWriter head(out_, bound);
  head.add("HTTP/1.1 ");
  head.number(static_cast<uint64_t>(status));
  head.add(" ");
  head.add(reason_text);
  head.add("\r\n");
  for (std::size_t i = 0; i < headers.size(); ++i) {
    const Header& h = headers[i];
    const Kind k = i < kKnown ? kinds[i] : classify(h.name);
    if (k == Kind::HopByHop || k == Kind::ContentLength || is_unsafe(h)) continue;
    head.add(h.name);
    head.add(": ");
    head.add(h.value);
    head.add("\r\n");
  }
  // 304 may repeat the length the full response would have had; 1xx/204 must not carry one.
  if (framing_ == Framing::Length || (status == 304 && has_length)) {
    head.add("Content-Length: ");
    head.number(length);
    head.add("\r\n");
  }
  if (framing_ == Framing::Chunked) head.add("Transfer-Encoding: chunked\r\n");
  if (!date.empty()) {
    head.add("Date: ");
    head.add(date);
    head.add("\r\n");
  }
  if (!has_server && !limits_.server_header.empty()) {
    head.add("Server: ");
    head.add(limits_.server_header);
    head.add("\r\n");
  }
  if (must_close_) {
    head.add("Connection: close\r\n");
  } else if (options_.version == 10) {
    head.add("Connection: keep-alive\r\n");
  }
  head.add("\r\n");
  head.finish();
  notify();
}

void BufferedResponseSink::body(std::string_view data) {
  if (transport_ == nullptr || state_ != State::Started || data.empty()) return;
  if (file_fd_ >= 0) {
    // body_file() must be the last body call: these bytes would overtake it.
    assert(false && "body() after body_file()");
    must_close_ = true;
    return;
  }
  if (options_.is_head || framing_ == Framing::None) {
    body_sent_ += data.size();
    return;
  }
  switch (framing_) {
    case Framing::Length: {
      const uint64_t room = declared_ - body_sent_;
      if (data.size() > room) {
        data = data.substr(0, room);
        must_close_ = true;  // the app wrote more than it declared: truncate
      }
      if (data.empty()) return;
      queue(data);
      break;
    }
    case Framing::Chunked: {
      char size[20];
      auto r = std::to_chars(size, size + sizeof size - 2, data.size(), 16);
      *r.ptr++ = '\r';
      *r.ptr++ = '\n';
      queue(std::string_view(size, static_cast<std::size_t>(r.ptr - size)));
      queue(data);
      queue("\r\n");
      break;
    }
    case Framing::Close:
      queue(data);
      break;
    case Framing::None:
      break;
  }
  body_sent_ += data.size();
  notify();
}

BufferedResponseSink::~BufferedResponseSink() {
  clear_spill();
  if (file_fd_ >= 0) ::close(file_fd_);
}

bool BufferedResponseSink::body_file(int fd, uint64_t offset, uint64_t length) {
  if (transport_ == nullptr || state_ != State::Started || length == 0) return true;
  if (options_.is_head || framing_ == Framing::None) {
    body_sent_ += length;
    return true;
  }
  // Only a declared length lets the file follow the head unframed; chunked
  // and close-delimited bodies take the copying path. So does a small file:
  // copied behind the head it leaves in one write instead of a write, a
  // sendfile and a loop turn.
  if (framing_ != Framing::Length || (length <= kInlineFileMax && file_fd_ < 0)) {
    return ResponseSink::body_file(fd, offset, length);
  }
  if (file_fd_ >= 0) return false;  // one region per response
  const uint64_t room = declared_ - body_sent_;
  if (length > room) {
    length = room;
    must_close_ = true;
    if (length == 0) return true;
  }
  int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return false;
  file_fd_ = dup;
  file_offset_ = offset;
  file_left_ = length;
  body_sent_ += length;
  notify();
  return true;
}

void BufferedResponseSink::consume_file(uint64_t n) {
  n = std::min(n, file_left_);
  file_offset_ += n;
  file_left_ -= n;
  if (file_left_ == 0 && file_fd_ >= 0) {
    ::close(file_fd_);
    file_fd_ = -1;
  }
}

void BufferedResponseSink::file_failed() {
  must_close_ = true;
  if (file_fd_ >= 0) ::close(file_fd_);
  file_fd_ = -1;
  file_left_ = 0;
}

void BufferedResponseSink::finish(bool ok) {
  if (state_ == State::Finished) return;
  // A detached sink ignored start() (the client left): any finish() is fine then.
  assert(!(ok && state_ == State::Fresh && transport_ != nullptr) && "finish(true) before start()");
  const bool was_started = state_ == State::Started;
  state_ = State::Finished;
  if (transport_ == nullptr) return;
  if (!ok || !was_started) {
    must_close_ = true;
  } else if (framing_ == Framing::Length && !options_.is_head && body_sent_ < declared_) {
    must_close_ = true;  // short body: the client sees the connection end early
  } else if (framing_ == Framing::Chunked) {
    queue("0\r\n\r\n");
  }
  notify();
}

void BufferedResponseSink::queue(std::string_view bytes) {
  if (!spilling_ && overflow_.empty() && out_.size() + bytes.size() <= limits_.response_buffer_size) {
    out_.append(bytes);
    return;
  }
  if (spill_failed_) return;  // the response is already broken; drop the rest
  if (streaming_) {
    // A stream stays in memory: the producer waits (full()) until the client has read.
    overflow_.append(bytes);
    return;
  }
  // Over max_response_spool or max_total_response_spool: keep the bytes aside and let the
  // producer see full(). They follow the spill once the client has read it.
  const uint64_t total = options_.spool_total ? *options_.spool_total : 0;
  if (!overflow_.empty() || spill_.size() + bytes.size() > limits_.max_response_spool ||
      (options_.spool_total && total + bytes.size() > limits_.max_total_response_spool)) {
    overflow_.append(bytes);
    return;
  }
  if (!spilling_ && spill_.size() == 0) spill_ = Spool(0, *temp_dir_);
  spilling_ = true;
  const uint64_t before = spill_.size();
  std::error_code ec = spill_.append(bytes);
  if (options_.spool_total) *options_.spool_total += spill_.size() - before;
  if (ec) {
    HLOG(Warn, "response spill to " << (temp_dir_->empty() ? "$TMPDIR" : *temp_dir_)
                                    << " failed: " << ec.message());
    spill_failed_ = true;
    must_close_ = true;
  }
}

void BufferedResponseSink::notify() {
  if (transport_ != nullptr) transport_->on_sink_output();
}

std::string_view BufferedResponseSink::next_output() {
  if (written_ < writing_.size()) return std::string_view(writing_).substr(written_);
  writing_.clear();
  written_ = 0;
  if (!out_.empty()) {
    writing_.swap(out_);
    return writing_;
  }
  if (spilling_ && spill_read_ < spill_.size()) {
    writing_.resize(kSpillReadChunk);
    long n = spill_.read_at(spill_read_, writing_.data(), writing_.size());
    if (n <= 0) {
      HLOG(Warn, "response spill read failed");
      writing_.clear();
      must_close_ = true;
      clear_spill();
      overflow_.clear();
      wake();
      return {};
    }
    writing_.resize(static_cast<std::size_t>(n));
    spill_read_ += static_cast<uint64_t>(n);
    if (spill_read_ == spill_.size()) {
      clear_spill();
      spilling_ = false;
    }
    return writing_;
  }
  if (!overflow_.empty()) {
    // The spill is drained: what it could not take goes out now, and the producer may go on.
    writing_.swap(overflow_);
    overflow_.clear();
    wake();
    return writing_;
  }
  if (file_left_ > 0 && !options_.sendfile) {
    // TLS (or no sendfile): the file goes through the stream in chunks.
    writing_.resize(static_cast<std::size_t>(std::min<uint64_t>(file_left_, kSpillReadChunk)));
    ssize_t n;
    do {
      n = ::pread(file_fd_, writing_.data(), writing_.size(), static_cast<off_t>(file_offset_));
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
      HLOG(Warn, "static file read failed: " << (n < 0 ? std::strerror(errno) : "the file shrank"));
      writing_.clear();
      file_failed();
      return {};
    }
    writing_.resize(static_cast<std::size_t>(n));
    consume_file(static_cast<uint64_t>(n));
    return writing_;
  }
  return {};
}

void BufferedResponseSink::consume(std::size_t n) { written_ += n; }

bool BufferedResponseSink::complete() const {
  return state_ == State::Finished && written_ >= writing_.size() && out_.empty() &&
         (!spilling_ || spill_read_ >= spill_.size()) && overflow_.empty() && file_left_ == 0;
}

void BufferedResponseSink::disable_keep_alive() {
  options_.keep_alive = false;
  if (state_ != State::Fresh) must_close_ = true;
}

void BufferedResponseSink::detach() {
  transport_ = nullptr;
  if (auto* listener = std::exchange(gone_listener_, nullptr); listener && state_ != State::Finished)
    listener->on_client_gone();
  std::string().swap(writing_);
  std::string().swap(out_);
  written_ = 0;
  clear_spill();
  options_.spool_total = nullptr;  // it belongs to the connection's server, which may go first
  spilling_ = false;
  std::string().swap(overflow_);
  if (file_fd_ >= 0) ::close(file_fd_);
  file_fd_ = -1;
  file_left_ = 0;
  wake();  // a paused producer must drain the worker (into nothing)
}

bool BufferedResponseSink::recycle() {
  const bool keep = writing_.capacity() <= kKeptBuffer && out_.capacity() <= kKeptBuffer;
  if (!keep) {
    detach();
    return false;
  }
  transport_ = nullptr;
  writing_.clear();
  out_.clear();
  written_ = 0;
  clear_spill();
  spill_ = Spool();
  spilling_ = false;
  spill_failed_ = false;
  std::string().swap(overflow_);
  if (file_fd_ >= 0) ::close(file_fd_);
  file_fd_ = -1;
  file_offset_ = 0;
  file_left_ = 0;
  wake();  // as detach(): a paused producer must not wait for this sink
  writable_ = nullptr;
  streaming_ = false;
  gone_listener_ = nullptr;
  options_ = Options{};  // drops the error pages it held
  state_ = State::Fresh;
  framing_ = Framing::None;
  status_ = 0;
  must_close_ = false;
  declared_ = 0;
  body_sent_ = 0;
  return true;
}

void BufferedResponseSink::reuse(SinkTransport* transport, Options options) {
  transport_ = transport;
  options_ = std::move(options);
}

void BufferedResponseSink::clear_spill() {
  if (options_.spool_total && spill_.size() > 0)
    *options_.spool_total -= std::min(*options_.spool_total, spill_.size());
  spill_.clear();
  spill_read_ = 0;
}

void BufferedResponseSink::when_writable(std::function<void()> cb) {
  writable_ = std::move(cb);
  if (!full() || transport_ == nullptr) wake();
}

void BufferedResponseSink::wake() {
  if (!writable_) return;
  auto cb = std::move(writable_);
  writable_ = nullptr;
  cb();
}

}  // namespace hearth::http
