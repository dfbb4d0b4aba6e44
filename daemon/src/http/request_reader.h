#pragma once
// The socket-free half of an HTTP/1 connection's input (net::HttpConnection):
// given the bytes received so far, it skips CR/LF between requests (RFC 9112
// 2.2), recognises the HTTP/2 client preface, scans and parses a request head
// (HeadScanner, RequestParser) and then its body, and says what the connection
// must do next. The connection owns the socket, the buffer, the timers and the
// response; fuzz/fuzz_http1_request.cc drives this same code without them.
//
// Lifetime: owned by its connection, one request at a time; `limits` and
// `temp_dir` (ServerState's) outlive it. The parser is created when a request
// starts, not while idle (10,000 idle keep-alive connections).
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http/error.hpp>

#include "config/config.h"
#include "http/head_scanner.h"
#include "http/request_parser.h"
#include "http/request_pool.h"

namespace hearth::http {

class RequestReader {
 public:
  // Where the request being read is.
  enum class Phase {
    Idle,  // between requests: nothing of the next one received yet
    Head,  // part of a request head received
    Body,  // head accepted, the body being read (eagerly: bodies are buffered whole)
  };
  // What step() stopped at.
  enum class Step {
    NeedMore,   // every usable byte is used: read more, then step() again
    HeadDone,   // a head was accepted and a body follows (now Body): step() again
    Complete,   // a whole request: parser().request(); reset() before the next one
    Reject,     // malformed or over a limit: answer reject_status() (4xx) and close
    H2Preface,  // the stream starts with the HTTP/2 client preface and limits.h2_enabled
  };

  // `pool` (may be null): where each request's Request is taken from.
  // `files` (may be null; must outlive the reader): the reused spool files (RequestParser).
  RequestReader(const config::HttpLimits& limits, const std::string& temp_dir, RequestPool* pool = nullptr,
                const std::shared_ptr<SpoolFiles>* files = nullptr)
      : limits_(limits), temp_dir_(temp_dir), pool_(pool), files_(files), scanner_(limits.max_header_size) {}

  // Reads on from `buffered` (everything received and not yet consumed) and sets
  // `consumed` to how many of its bytes the caller must now drop. H2Preface
  // leaves the preface unconsumed.
  // Defined below, in the header, and always inlined: it runs once or twice per
  // request on the hot path and has one caller in the daemon
  // (HttpConnection::process_input; docs/profile.md).
  [[nodiscard, gnu::always_inline]] Step step(std::string_view buffered, std::size_t& consumed);
  // Back to Idle for the next request on the connection.
  void reset() {
    parser_.reset();
    scanner_.reset();
    phase_ = Phase::Idle;
  }

  // After H2Preface, when the caller cannot serve HTTP/2 (nghttp2 could not be
  // loaded, lazylibs/libraries.h): step() then goes on as with
  // limits.h2_enabled = false, the preface read as an HTTP/1.1 request.
  void decline_h2() { h2_checked_ = true; }

  Phase phase() const { return phase_; }
  int reject_status() const { return reject_status_; }
  // The request's parser, from the first byte of a request (Head) until reset().
  RequestParser& parser() { return *parser_; }

 private:
  [[nodiscard]] Step reject(int status) {
    reject_status_ = status;
    return Step::Reject;
  }

  const config::HttpLimits& limits_;
  const std::string& temp_dir_;
  RequestPool* pool_;
  const std::shared_ptr<SpoolFiles>* files_;
  Phase phase_ = Phase::Idle;
  bool h2_checked_ = false;  // the connection's first bytes were checked for the HTTP/2 preface
  int reject_status_ = 0;
  HeadScanner scanner_;
  std::optional<RequestParser> parser_;
};

inline RequestReader::Step RequestReader::step(std::string_view buffered, std::size_t& consumed) {
  std::size_t at = 0;
  for (;;) {
    switch (phase_) {
      case Phase::Idle: {
        while (at < buffered.size() && (buffered[at] == '\r' || buffered[at] == '\n')) ++at;
        if (at == buffered.size()) {
          consumed = at;
          return Step::NeedMore;
        }
        phase_ = Phase::Head;
        if (!parser_) parser_.emplace(limits_, temp_dir_, pool_ != nullptr ? pool_->take() : nullptr, files_);
        continue;
      }
      case Phase::Head: {
        consumed = at;
        const std::string_view raw = buffered.substr(at);
        if (!h2_checked_) {
          // HTTP/2 with prior knowledge (h2c): the client preface instead of a request line.
          static constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
          const std::size_t n = std::min(raw.size(), kPreface.size());
          if (raw.substr(0, n) == kPreface.substr(0, n)) {
            if (n < kPreface.size()) return Step::NeedMore;
            if (limits_.h2_enabled) return Step::H2Preface;
          }
          h2_checked_ = true;
        }
        // The common case: the buffer holds exactly one head and nothing after
        // it (a client waiting for its answer). A head parse_simple_head()
        // accepts has CRLF line ends, no NUL, bare CR or LF, obs-fold or empty
        // line before its end, and fits max_header_size: HeadScanner would find
        // it Complete and whole, so it need not scan it first.
        const bool whole = raw.size() >= 4 && raw.size() <= limits_.max_header_size &&
                           std::memcmp(raw.data() + raw.size() - 4, "\r\n\r\n", 4) == 0;
        if (whole && parser_->take_simple_head(raw)) {
          consumed = at + raw.size();
          return Step::Complete;
        }
        switch (scanner_.feed(raw)) {
          case HeadScanner::Result::NeedMore:
            return Step::NeedMore;
          case HeadScanner::Result::TooLarge:
            return reject(431);
          case HeadScanner::Result::Malformed:
            return reject(400);
          case HeadScanner::Result::Complete:
            break;
        }
        const std::size_t head = scanner_.head_size();
        // The common request (no body, nothing unusual) in one pass; Beast for the rest.
        if (!(whole && head == raw.size()) && parser_->take_simple_head(raw.substr(0, head))) {
          consumed = at + head;
          return Step::Complete;
        }
        boost::beast::error_code ec;
        const std::size_t n = parser_->put(boost::asio::const_buffer(raw.data(), head), ec);
        if (ec) return reject(parser_->status_for(ec));
        if (n != head || !parser_->is_header_done()) return reject(400);
        consumed = at + head;
        if (parser_->is_done()) return Step::Complete;
        phase_ = Phase::Body;
        parser_->eager(true);
        return Step::HeadDone;
      }
      case Phase::Body: {
        consumed = at;
        if (at == buffered.size()) return Step::NeedMore;
        boost::beast::error_code ec;
        const std::size_t n =
            parser_->put(boost::asio::const_buffer(buffered.data() + at, buffered.size() - at), ec);
        at += n;
        consumed = at;
        if (ec == boost::beast::http::error::need_more) {
          // Beast bounds neither a chunk-size line (with its extensions) nor the
          // trailer section: what it keeps unparsed may not outgrow a head.
          if (buffered.size() - at >= limits_.max_header_size) return reject(400);
          return Step::NeedMore;
        }
        if (ec) return reject(parser_->status_for(ec));
        if (parser_->is_done()) return Step::Complete;
        if (n == 0) return Step::NeedMore;
        continue;
      }
    }
  }
}

}  // namespace hearth::http
