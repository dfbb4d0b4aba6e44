// libFuzzer target: the HTTP/1 request path of net::HttpConnection, without the
// socket. The input is one connection's byte stream; its first byte chooses how
// the rest is split into reads (1..256 bytes each) so incremental parsing is
// exercised. Each read is handed to http::RequestReader::step(), the very code
// HttpConnection::process_input() calls (CR/LF between requests, the h2c
// preface check, HeadScanner, RequestParser, eager body parsing with the
// chunk-line cap); this file only plays the connection's part: consume what the
// reader used, reset it after a complete request, stop at a rejection or the
// HTTP/2 preface. Not modelled: "100 Continue" (a write) and timeouts.
//
// Crashes and sanitizer reports are findings, and so is a violated invariant of
// an accepted request (abort()): one framing (never Content-Length and
// Transfer-Encoding together, at most one of each, no TE in HTTP/1.0), exactly
// one Host in HTTP/1.1 and every Host (and absolute-form authority) a
// host[:port], token method, version 1.0/1.1, no CR/LF/NUL in any
// stored header, a body no larger than max_body_size and equal to Content-Length.
// The input up to its first and its last CRLF CRLF is also given to the head
// parsers on its own: what the one-pass path (http/simple_head.h) takes,
// HeadScanner must see as one whole head and RequestParser (Beast) must accept
// and build the same way.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/head_scanner.h"
#include "http/request_checks.h"
#include "http/request_parser.h"
#include "http/request_reader.h"
#include "http/simple_head.h"

namespace {

using hearth::http::RequestReader;

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

// One connection: feed() is called once per simulated read with everything buffered.
struct Connection {
  std::string buffer;
  bool done = false;  // rejected, or switched to HTTP/2
  RequestReader reader{limits(), temp_dir()};
  int requests = 0;

  static const std::string& temp_dir() {
    static const std::string dir = "/tmp";
    return dir;
  }

  void process() {
    using Step = RequestReader::Step;
    while (!done) {
      std::size_t used = 0;
      const Step step = reader.step(buffer, used);
      check(used <= buffer.size());
      buffer.erase(0, used);
      switch (step) {
        case Step::NeedMore:
          return;
        case Step::HeadDone:
          check(reader.phase() == RequestReader::Phase::Body);
          continue;
        case Step::Complete:
          check(reader.parser().is_done());
          check(!reader.parser().body_failed());
          check_accepted(*reader.parser().request());
          ++requests;
          reader.reset();
          continue;
        case Step::Reject:
          check(reader.reject_status() >= 400 && reader.reject_status() <= 499);
          done = true;
          return;
        case Step::H2Preface:
          check(requests == 0 && buffer.rfind("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 0) == 0);
          done = true;
          return;
      }
    }
  }
};

// Differential: parse_simple_head() against HeadScanner and RequestParser on a
// buffer ending in CRLF CRLF (RequestReader tries those before HeadScanner).
void check_simple_head(std::string_view head) {
  if (head.size() < 4 || head.substr(head.size() - 4) != "\r\n\r\n") return;
  hearth::http::Request simple;
  hearth::http::SimpleHeadFacts facts;
  if (hearth::http::parse_simple_head(head, limits(), simple, facts) != hearth::http::SimpleHead::Parsed) {
    check(simple.headers.empty());
    return;
  }
  hearth::http::HeadScanner scanner(limits().max_header_size);
  check(scanner.feed(head) == hearth::http::HeadScanner::Result::Complete && scanner.head_size() == head.size());
  hearth::http::RequestParser beast(limits(), "/tmp");
  boost::beast::error_code ec;
  const std::size_t n = beast.put(boost::asio::const_buffer(head.data(), head.size()), ec);
  check(!ec && n == head.size() && beast.is_done());
  check(beast.keep_alive() == facts.keep_alive && beast.expects_continue() == facts.expect_continue);
  const hearth::http::Request& b = *beast.request();
  check(b.method == simple.method && b.target == simple.target && b.version == simple.version &&
        b.is_head == simple.is_head && b.headers.size() == simple.headers.size());
  for (std::size_t i = 0; i < b.headers.size(); ++i) {
    check(b.headers[i].name == simple.headers[i].name && b.headers[i].value == simple.headers[i].value);
  }
  check_accepted(simple);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::size_t piece = static_cast<std::size_t>(data[0]) + 1;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  // The input up to its first and up to its last CRLF CRLF.
  if (const std::size_t first = in.find("\r\n\r\n"); first != std::string_view::npos) {
    check_simple_head(in.substr(0, first + 4));
    check_simple_head(in.substr(0, in.rfind("\r\n\r\n") + 4));
  }
  Connection conn;
  while (!in.empty() && !conn.done) {
    std::size_t take = in.size() < piece ? in.size() : piece;
    conn.buffer.append(in.data(), take);
    in.remove_prefix(take);
    conn.process();
  }
  return 0;
}
