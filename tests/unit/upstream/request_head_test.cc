// The head sent to an upstream: the target with and without strip_prefix,
// hop-by-hop headers dropped, Host kept, X-Forwarded-* set, Content-Length.
#include "upstream/request_head.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "upstream/probe.h"
#include "upstream/upstream_handler.h"

namespace hearth::upstream {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

TEST(UpstreamTarget, WholePathWithoutStripPrefix) {
  EXPECT_EQ(upstream_target("/socket/x?y=1", "/socket", false), "/socket/x?y=1");
  EXPECT_EQ(upstream_target("/a%20b?q", "", true), "/a%20b?q");
}

TEST(UpstreamTarget, StripPrefixTakesThePrefixOff) {
  EXPECT_EQ(upstream_target("/socket/x?y=1", "/socket", true), "/x?y=1");
  EXPECT_EQ(upstream_target("/socket", "/socket", true), "/");
  EXPECT_EQ(upstream_target("/socket?q=1", "/socket", true), "/?q=1");
  EXPECT_EQ(upstream_target("/socket/", "/socket/", true), "/");
  EXPECT_EQ(upstream_target("/socket/a/b", "/socket/", true), "/a/b");
}

TEST(UpstreamTarget, OnlyOnASegmentBoundary) {
  EXPECT_EQ(upstream_target("/socketx/a", "/socket", true), "/socketx/a");
}

TEST(UpstreamTarget, AbsoluteFormBecomesOriginForm) {
  EXPECT_EQ(upstream_target("http://example.com/socket/x?q", "/socket", true), "/x?q");
  EXPECT_EQ(upstream_target("http://example.com", "", false), "/");
}

http::Request request() {
  http::Request r;
  r.method = "GET";
  r.target = "/x";
  r.peer_addr = "10.0.0.7";
  r.headers = {{"Host", "example.com"},
               {"Connection", "keep-alive, X-Secret"},
               {"Keep-Alive", "timeout=5"},
               {"X-Secret", "hop"},
               {"Upgrade", "h2c"},
               {"TE", "trailers"},
               {"Proxy-Authorization", "x"},
               {"Accept", "text/html"},
               {"Content-Length", "999"},
               {"X-Forwarded-For", "1.2.3.4"},
               {"X-Forwarded-Proto", "https"},
               {"Cookie", "a=1"}};
  return r;
}

TEST(RequestHead, KeepsEndToEndHeadersAndHost) {
  http::Request r = request();
  std::string head = build_request_head(r, HeadOptions{"/y?z", "127.0.0.1:3000", 0});
  EXPECT_THAT(head, StartsWith("GET /y?z HTTP/1.1\r\nHost: example.com\r\n"));
  EXPECT_THAT(head, HasSubstr("\r\nAccept: text/html\r\n"));
  EXPECT_THAT(head, HasSubstr("\r\nCookie: a=1\r\n"));
  EXPECT_THAT(head, testing::EndsWith("\r\n\r\n"));
}

TEST(RequestHead, DropsHopByHopAndWhatConnectionNames) {
  std::string head = build_request_head(request(), HeadOptions{"/x", "h", 0});
  for (const char* h : {"Connection:", "Keep-Alive:", "X-Secret:", "Upgrade:", "TE:", "Proxy-Authorization:",
                        "Content-Length:"})
    EXPECT_THAT(head, Not(HasSubstr(h))) << h;
}

TEST(RequestHead, SetsXForwarded) {
  http::Request r = request();
  std::string head = build_request_head(r, HeadOptions{"/x", "h", 0});
  EXPECT_THAT(head, HasSubstr("\r\nX-Forwarded-For: 1.2.3.4, 10.0.0.7\r\n"));
  EXPECT_THAT(head, HasSubstr("\r\nX-Forwarded-Proto: http\r\n"));
  EXPECT_THAT(head, Not(HasSubstr("X-Forwarded-Proto: https")));
  EXPECT_THAT(head, HasSubstr("\r\nX-Forwarded-Host: example.com\r\n"));
  r.tls = true;
  EXPECT_THAT(build_request_head(r, HeadOptions{"/x", "h", 0}), HasSubstr("\r\nX-Forwarded-Proto: https\r\n"));
}

TEST(RequestHead, RequestIdTheClientsElseOurs) {
  http::Request r = request();
  EXPECT_THAT(build_request_head(r, HeadOptions{"/x", "h", 0, "abc-1"}), HasSubstr("\r\nX-Request-ID: abc-1\r\n"));
  r.headers.push_back({"X-Request-ID", "client-7"});
  std::string head = build_request_head(r, HeadOptions{"/x", "h", 0, "abc-1"});
  EXPECT_THAT(head, HasSubstr("\r\nX-Request-ID: client-7\r\n"));
  EXPECT_THAT(head, Not(HasSubstr("abc-1")));
  r.headers.push_back({"Expect", "100-continue"});
  EXPECT_THAT(build_request_head(r, HeadOptions{"/x", "h", 0}), Not(HasSubstr("Expect")));
}

TEST(RequestHead, NoHostUsesTheServers) {
  http::Request r;
  r.method = "GET";
  r.peer_addr = "127.0.0.1";
  std::string head = build_request_head(r, HeadOptions{"/", "127.0.0.1:3000", 0});
  EXPECT_THAT(head, HasSubstr("\r\nHost: 127.0.0.1:3000\r\n"));
  EXPECT_THAT(head, Not(HasSubstr("X-Forwarded-Host")));
  EXPECT_THAT(head, HasSubstr("X-Forwarded-For: 127.0.0.1\r\n"));
}

TEST(RequestHead, ContentLengthFromTheBody) {
  http::Request r;
  r.method = "POST";
  EXPECT_THAT(build_request_head(r, HeadOptions{"/", "h", 12}), HasSubstr("\r\nContent-Length: 12\r\n"));
  EXPECT_THAT(build_request_head(r, HeadOptions{"/", "h", 0}), HasSubstr("\r\nContent-Length: 0\r\n"));
  r.method = "GET";
  EXPECT_THAT(build_request_head(r, HeadOptions{"/", "h", 0}), Not(HasSubstr("Content-Length")));
}

TEST(Upstream, IdempotentMethods) {
  for (const char* m : {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}) EXPECT_TRUE(is_idempotent(m)) << m;
  for (const char* m : {"POST", "PATCH", "CONNECT"}) EXPECT_FALSE(is_idempotent(m)) << m;
}

TEST(Probe, StatusOfLine) {
  EXPECT_EQ(status_of_line("HTTP/1.1 204 No Content\r\n"), 204);
  EXPECT_EQ(status_of_line("HTTP/1.0 302 Found"), 302);
  EXPECT_EQ(status_of_line("SSH-2.0-OpenSSH"), 0);
  EXPECT_EQ(status_of_line("HTTP/1.1 2"), 0);
}

}  // namespace
}  // namespace hearth::upstream
