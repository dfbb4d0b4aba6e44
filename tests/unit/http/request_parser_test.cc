#include "http/request_parser.h"

#include <gtest/gtest.h>

#include <boost/beast/http/error.hpp>
#include <string>

namespace hearth::http {
namespace {

struct Outcome {
  boost::beast::error_code ec;
  int status = 0;  // 0 = accepted
  std::shared_ptr<Request> request;
};

// Feeds `raw` (head, then the rest eagerly) the way the connection does.
Outcome parse(const std::string& raw, const config::HttpLimits& limits = {}) {
  RequestParser p(limits, "/tmp");
  Outcome out;
  std::size_t head = raw.find("\r\n\r\n");
  head = head == std::string::npos ? raw.size() : head + 4;
  std::size_t n = p.put(boost::asio::const_buffer(raw.data(), head), out.ec);
  if (!out.ec && p.is_header_done() && !p.is_done()) {
    p.eager(true);
    std::size_t m = p.put(boost::asio::const_buffer(raw.data() + n, raw.size() - n), out.ec);
    (void)m;
  }
  if (out.ec && out.ec != boost::beast::http::error::need_more) out.status = p.status_for(out.ec);
  out.request = p.request();
  return out;
}

TEST(RequestParser, FillsRequest) {
  auto o = parse("PUT /p?q=1 HTTP/1.0\r\nHost: h\r\nX-A:  v  \r\nContent-Length: 3\r\n\r\nabc");
  ASSERT_FALSE(o.ec) << o.ec.message();
  EXPECT_EQ(o.request->method, "PUT");
  EXPECT_EQ(o.request->target, "/p?q=1");
  EXPECT_EQ(o.request->version, 10);
  ASSERT_EQ(o.request->headers.size(), 3u);
  EXPECT_EQ(o.request->headers[1].value, "v");
  EXPECT_EQ(o.request->body.memory(), "abc");
  EXPECT_FALSE(o.request->body_was_chunked);
}

TEST(RequestParser, ChunkedBodyAndTrailersDropped) {
  auto o = parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\nT: x\r\n\r\n");
  ASSERT_FALSE(o.ec) << o.ec.message();
  EXPECT_TRUE(o.request->body_was_chunked);
  EXPECT_EQ(o.request->body.memory(), "ab");
  EXPECT_EQ(o.request->headers.size(), 2u);
}

TEST(RequestParser, HeadFlag) {
  auto o = parse("HEAD / HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_FALSE(o.ec);
  EXPECT_TRUE(o.request->is_head);
}

TEST(RequestParser, FramingPolicy) {
  EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n").status, 400);
  EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n").status, 400);
  EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n").status, 400);
  EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\nContent-Length: 1\r\n\r\n").status, 400);
  EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n").status, 400);
  // Identical duplicates and lists are legal for Beast, not for the front door.
  EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\na").status, 400);
  EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1,1\r\n\r\na").status, 400);
  EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 01\r\n\r\na").status, 0);
  // RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 is faulty framing.
  EXPECT_EQ(parse("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n").status, 400);
  EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n").status, 0);
}

TEST(RequestParser, VersionAndTarget) {
  EXPECT_EQ(parse("PRI * HTTP/2.0\r\n\r\n").status, 400);
  EXPECT_EQ(parse("GET / HTTP/1.2\r\n\r\n").status, 400);
  EXPECT_EQ(parse("GET x HTTP/1.1\r\nHost: h\r\n\r\n").status, 400);
  EXPECT_EQ(parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n").status, 0);
}

TEST(RequestParser, HostRequiredOnceInHttp11) {
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nX-A: b\r\n\r\n").status, 400);
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").status, 400);
  EXPECT_EQ(parse("GET / HTTP/1.0\r\n\r\n").status, 0);
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nhost: a\r\n\r\n").status, 0);
}

TEST(RequestParser, HostMustBeAHostAndPort) {
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: a/b@c\r\n\r\n").status, 400);
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: u@h\r\n\r\n").status, 400);
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: h:8x\r\n\r\n").status, 400);
  EXPECT_EQ(parse("GET / HTTP/1.0\r\nHost: a b\r\n\r\n").status, 400);
  EXPECT_EQ(parse("GET http://u@h/ HTTP/1.1\r\nHost: h\r\n\r\n").status, 400);
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: h.example:8080\r\n\r\n").status, 0);
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n").status, 0);
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost:\r\n\r\n").status, 0);  // RFC 9112 3.2: empty is allowed
  EXPECT_EQ(parse("GET http://h:1/ HTTP/1.1\r\nHost: other\r\n\r\n").status, 0);
}

// Issue 16: a chunk-size line is bounded by max_header_size even when it arrives whole.
TEST(RequestParser, ChunkLineLongerThanMaxHeaderSizeIs400) {
  config::HttpLimits limits;
  limits.max_header_size = 1024;
  auto req = [](std::size_t ext) {
    return "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;" + std::string(ext, 'a') +
           "\r\nhello\r\n0\r\n\r\n";
  };
  // "5" + ";" + ext + CRLF: 1024 bytes exactly is fine, one more is not.
  EXPECT_EQ(parse(req(1024 - 4), limits).status, 0);
  EXPECT_EQ(parse(req(1024 - 3), limits).status, 400);
  EXPECT_EQ(parse(req(40000), limits).status, 400);
}

TEST(RequestParser, TrailerSectionLongerThanMaxHeaderSizeIs400) {
  config::HttpLimits limits;
  limits.max_header_size = 1024;
  auto req = [](std::size_t n) {
    return "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: " +
           std::string(n, 'a') + "\r\n\r\n";
  };
  EXPECT_EQ(parse(req(500), limits).status, 0);
  EXPECT_EQ(parse(req(4000), limits).status, 400);
  // Many small trailer fields add up.
  std::string many = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n";
  for (int i = 0; i < 60; ++i) many += "X-" + std::to_string(i) + ": " + std::string(20, 'b') + "\r\n";
  EXPECT_EQ(parse(many + "\r\n", limits).status, 400);
}

TEST(RequestParser, Limits) {
  config::HttpLimits limits;
  limits.max_headers = 2;
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits).status, 431);
  limits = {};
  limits.max_body_size = 2;
  EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc", limits).status, 413);
  EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", limits).status,
            413);
}

TEST(RequestParser, RequestLineAndFieldSizeLimits) {
  config::HttpLimits limits;
  limits.max_request_line = 30;  // "GET " + target + " HTTP/1.1": 13 bytes besides the target
  EXPECT_EQ(parse("GET /" + std::string(16, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n", limits).status, 0);
  EXPECT_EQ(parse("GET /" + std::string(17, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n", limits).status, 414);
  limits = {};
  limits.max_header_field_size = 20;  // "X-A: " + value
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: h\r\nX-A: " + std::string(15, 'v') + "\r\n\r\n", limits).status, 0);
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: h\r\nX-A: " + std::string(16, 'v') + "\r\n\r\n", limits).status, 431);
  limits = {};  // 0 = off: only max_header_size bounds them
  EXPECT_EQ(parse("GET /" + std::string(2000, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n", limits).status, 0);
}

TEST(RequestParser, ExpectContinue) {
  const config::HttpLimits limits;
  RequestParser p(limits, "");
  std::string raw = "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n";
  boost::beast::error_code ec;
  p.put(boost::asio::const_buffer(raw.data(), raw.size()), ec);
  ASSERT_FALSE(ec);
  EXPECT_TRUE(p.expects_continue());
  EXPECT_FALSE(p.is_done());
}

TEST(RequestParser, SpoolFailureIsReportedNotFatal) {
  config::HttpLimits limits;
  limits.body_buffer_size = 1;
  RequestParser p(limits, "/nonexistent-hearth-dir");
  std::string raw = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nabcd";
  boost::beast::error_code ec;
  std::size_t n = p.put(boost::asio::const_buffer(raw.data(), raw.size() - 4), ec);
  ASSERT_FALSE(ec);
  p.eager(true);
  p.put(boost::asio::const_buffer(raw.data() + n, 4), ec);
  ASSERT_FALSE(ec);
  EXPECT_TRUE(p.is_done());
  EXPECT_TRUE(p.body_failed());
  EXPECT_TRUE(p.body_error());
}

}  // namespace
}  // namespace hearth::http
