// libFuzzer target: the HTTP/1 request path of net::HttpConnection, without the
// socket. The input is one connection's byte stream; its first byte chooses how
// the rest is split into reads (1..256 bytes each) so incremental parsing is
// exercised. The steps mirror HttpConnection::process_input exactly: skip CR/LF
// between requests, HeadScanner over the head, RequestParser::put of the whole
// head, then eager body parsing with the chunk-line cap; pipelined requests
// follow on the same stream until one is rejected. Not modelled: the h2c
// preface check (a stream starting with "PRI * HTTP/2.0" goes to nghttp2) and
// timeouts. Keep this in step with http_connection.cc when that changes.
//
// Crashes and sanitizer reports are findings, and so is a violated invariant of
// an accepted request (abort()): one framing (never Content-Length and
// Transfer-Encoding together, at most one of each, no TE in HTTP/1.0), exactly
// one Host in HTTP/1.1 and every Host (and absolute-form authority) a
// host[:port], token method, version 1.0/1.1, no CR/LF/NUL in any
// stored header, a body no larger than max_body_size and equal to Content-Length.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <boost/beast/http/error.hpp>

#include "http/head_scanner.h"
#include "http/request_checks.h"
#include "http/request_parser.h"

namespace {

using hearth::http::HeadScanner;
using hearth::http::RequestParser;
namespace bhttp = boost::beast::http;

const hearth::config::HttpLimits& limits() {
  static const hearth::config::HttpLimits l = [] {
    hearth::config::HttpLimits x;
    x.max_header_size = 4096;
    x.max_headers = 32;
    x.max_body_size = 64 * 1024;
    x.body_buffer_size = 64 * 1024;  // bodies stay in memory: no temp files while fuzzing
    return x;
  }();
  return l;
}

void check(bool ok) {
  if (!ok) std::abort();
}

void check_accepted(const hearth::http::Request& r) {
  check(r.version == 10 || r.version == 11);
  check(hearth::http::is_token(r.method));
  int cl = 0, te = 0, host = 0;
  std::string cl_value;
  for (const auto& h : r.headers) {
    check(hearth::http::is_token(h.name));
    for (char c : h.value) check(c != '\r' && c != '\n' && c != '\0');
    if (hearth::http::iequals(h.name, "content-length")) ++cl, cl_value = h.value;
    if (hearth::http::iequals(h.name, "transfer-encoding")) {
      ++te;
      check(hearth::http::is_plain_chunked(h.value));
    }
    if (hearth::http::iequals(h.name, "host")) {
      ++host;
      check(hearth::http::is_valid_host(h.value));  // issue 16: only host[:port] gets through
    }
  }
  check(cl <= 1 && te <= 1 && !(cl && te));
  check(!(te && r.version < 11));
  check(host <= 1 && (r.version < 11 || host == 1));
  // An absolute-form target's authority is a host[:port] too (no userinfo).
  if (r.target.front() != '/' && r.target != "*") {
    check(hearth::http::is_valid_host(hearth::http::absolute_form_authority(r.target)));
  }
  check(r.body.size() <= limits().max_body_size);
  check(r.body_was_chunked == (te == 1));
  if (cl == 1) {
    auto n = hearth::http::parse_content_length(cl_value);
    check(n.has_value() && *n == r.body.size());
  }
  if (r.body.in_memory()) check(r.body.memory().size() == r.body.size());
}

enum class Phase { Idle, Head, Body, Done };

// One connection: feed() is called once per simulated read with everything buffered.
struct Connection {
  std::string buffer;
  Phase phase = Phase::Idle;
  HeadScanner scanner{limits().max_header_size};
  std::optional<RequestParser> parser;
  int requests = 0;

  Connection() { parser.emplace(limits(), "/tmp"); }

  void reject(int status) {
    check(status >= 400 && status <= 499);
    phase = Phase::Done;
  }

  void dispatch() {
    check(parser->is_done());
    check(!parser->body_failed());
    check_accepted(*parser->request());
    ++requests;
    parser.emplace(limits(), "/tmp");
    scanner.reset();
    phase = Phase::Idle;
  }

  void process() {
    for (;;) {
      switch (phase) {
        case Phase::Done:
          return;
        case Phase::Idle: {
          std::size_t skip = 0;
          while (skip < buffer.size() && (buffer[skip] == '\r' || buffer[skip] == '\n')) ++skip;
          buffer.erase(0, skip);
          if (buffer.empty()) return;
          phase = Phase::Head;
          continue;
        }
        case Phase::Head: {
          switch (scanner.feed(buffer)) {
            case HeadScanner::Result::NeedMore:
              return;
            case HeadScanner::Result::TooLarge:
              return reject(431);
            case HeadScanner::Result::Malformed:
              return reject(400);
            case HeadScanner::Result::Complete:
              break;
          }
          const std::size_t head = scanner.head_size();
          check(head <= buffer.size() && head <= limits().max_header_size);
          boost::beast::error_code ec;
          std::size_t n = parser->put(boost::asio::const_buffer(buffer.data(), head), ec);
          if (ec) return reject(parser->status_for(ec));
          if (n != head || !parser->is_header_done()) return reject(400);
          buffer.erase(0, head);
          if (parser->is_done()) {
            dispatch();
            continue;
          }
          phase = Phase::Body;
          parser->eager(true);
          continue;
        }
        case Phase::Body: {
          if (buffer.empty()) return;
          boost::beast::error_code ec;
          std::size_t n = parser->put(boost::asio::const_buffer(buffer.data(), buffer.size()), ec);
          check(n <= buffer.size());
          buffer.erase(0, n);
          if (ec == bhttp::error::need_more) {
            if (buffer.size() >= limits().max_header_size) return reject(400);
            return;
          }
          if (ec) return reject(parser->status_for(ec));
          if (parser->is_done()) {
            dispatch();
            continue;
          }
          if (n == 0) return;
          continue;
        }
      }
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::size_t piece = static_cast<std::size_t>(data[0]) + 1;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  Connection conn;
  while (!in.empty() && conn.phase != Phase::Done) {
    std::size_t take = in.size() < piece ? in.size() : piece;
    conn.buffer.append(in.data(), take);
    in.remove_prefix(take);
    conn.process();
  }
  return 0;
}
