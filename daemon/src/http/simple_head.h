#pragma once
// One pass over a complete, body-less request head, for the common request
// (docs/profile.md, issue 14): the head HeadScanner has already delimited is
// split into the request line and the fields and checked here, instead of
// being parsed a second time by Beast.
//
// It accepts only heads that RequestParser (Beast plus the front door's
// policy) accepts, and fills the Request exactly as RequestParser would:
// method, target, version, is_head, the fields in order with their values
// trimmed. Anything else is Unusual and the caller parses the head with
// RequestParser as before, which then gives the verdict (the 4xx status, a
// body, a Connection list, Upgrade). So a smuggling or validation rule never
// has a second implementation that could answer differently: this pass only
// says "plainly fine" or "not mine". Unusual are, among others: Content-Length
// or Transfer-Encoding (a body, or framing to judge), Upgrade, a Connection or
// Proxy-Connection value other than one "close" or "keep-alive", a field
// count or size over a limit, any byte Beast or the policy would refuse, a
// missing or repeated Host in HTTP/1.1. tests/unit/http/simple_head_test.cc
// compares both paths on a corpus, fuzz/fuzz_http1_request.cc on every head.
//
// Pure: no I/O, no allocation besides the Request's strings and vector.
#include <string_view>

#include "config/config.h"
#include "http/request.h"

namespace hearth::http {

// What parse_simple_head() decided.
enum class SimpleHead {
  Parsed,   // the request is filled in; it has no body
  Unusual,  // not a plain body-less head: parse it with RequestParser (`req` as it was, no headers)
};

// What Beast's parser would report next to the Request.
struct SimpleHeadFacts {
  bool keep_alive = true;       // basic_parser::keep_alive()
  bool expect_continue = false; // "Expect: 100-continue"
};

// `head` is a whole head as HeadScanner delimited it (CRLF line ends, ending
// in an empty line, no NUL, no bare CR or LF, no obs-fold).
[[nodiscard]] SimpleHead parse_simple_head(std::string_view head, const config::HttpLimits& limits,
                                           Request& req, SimpleHeadFacts& facts);

}  // namespace hearth::http
