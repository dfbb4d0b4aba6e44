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
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"
#include "http/head_scanner.h"
#include "http/request_parser.h"

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

  RequestReader(const config::HttpLimits& limits, const std::string& temp_dir)
      : limits_(limits), temp_dir_(temp_dir), scanner_(limits.max_header_size) {}

  // Reads on from `buffered` (everything received and not yet consumed) and sets
  // `consumed` to how many of its bytes the caller must now drop. H2Preface
  // leaves the preface unconsumed.
  [[nodiscard]] Step step(std::string_view buffered, std::size_t& consumed);
  // Back to Idle for the next request on the connection.
  void reset() {
    parser_.reset();
    scanner_.reset();
    phase_ = Phase::Idle;
  }

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
  Phase phase_ = Phase::Idle;
  bool h2_checked_ = false;  // the connection's first bytes were checked for the HTTP/2 preface
  int reject_status_ = 0;
  HeadScanner scanner_;
  std::optional<RequestParser> parser_;
};

}  // namespace hearth::http
