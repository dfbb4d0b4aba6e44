#include "proxy/environ.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace hearth::proxy {
namespace {

using namespace std::string_literals;

// Splits the block the way the worker does (bytes.split(b"\0")) and checks
// that it is a well-formed key/value list without duplicate keys.
std::map<std::string, std::string> parse_block(const std::string& block) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t nul = block.find('\0', start);
    parts.push_back(block.substr(start, nul == std::string::npos ? std::string::npos : nul - start));
    if (nul == std::string::npos) break;
    start = nul + 1;
  }
  EXPECT_EQ(parts.size() % 2, 0u) << "odd number of fields";
  std::map<std::string, std::string> env;
  for (std::size_t i = 0; i + 1 < parts.size(); i += 2) {
    EXPECT_FALSE(env.count(parts[i])) << "duplicate key " << parts[i];
    env[parts[i]] = parts[i + 1];
  }
  return env;
}

http::Request make_request(std::string method, std::string target, std::vector<http::Header> headers) {
  http::Request r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.headers = std::move(headers);
  r.peer_addr = "192.0.2.10";
  r.peer_port = 54321;
  r.local_addr = "127.0.0.1";
  r.local_port = 8000;
  return r;
}

EnvironOptions opts(std::vector<std::string> allow = {}) {
  return EnvironOptions{std::move(allow), "hearth/0.1.0"};
}

std::map<std::string, std::string> env_of(const http::Request& r, const EnvironOptions& o = opts(),
                                          std::string_view id = "gen-1") {
  EnvironResult res = build_environ(r, o, id);
  EXPECT_EQ(res.error, "");
  return parse_block(res.block);
}

TEST(BuildEnviron, TypicalGetHasEveryCgiKey) {
  auto r = make_request("GET", "/a%20b/c%2Fd?x=1&y=%20", {{"Host", "example.com:8080"}, {"User-Agent", "curl/8"},
                                                          {"Accept", "*/*"}});
  EnvironResult res = build_environ(r, opts(), "gen-1");
  ASSERT_EQ(res.error, "");
  EXPECT_EQ(res.request_id, "gen-1");
  // No trailing NUL.
  ASSERT_FALSE(res.block.empty());
  EXPECT_NE(res.block.back(), '\0');
  auto env = parse_block(res.block);
  std::map<std::string, std::string> expected = {
      {"REQUEST_METHOD", "GET"},
      {"SCRIPT_NAME", ""},
      {"PATH_INFO", "/a b/c/d"},
      {"QUERY_STRING", "x=1&y=%20"},
      {"RAW_URI", "/a%20b/c%2Fd?x=1&y=%20"},
      {"REQUEST_URI", "/a%20b/c%2Fd?x=1&y=%20"},
      {"SERVER_PROTOCOL", "HTTP/1.1"},
      {"SERVER_SOFTWARE", "hearth/0.1.0"},
      {"SERVER_NAME", "example.com"},
      {"SERVER_PORT", "8080"},
      {"REMOTE_ADDR", "192.0.2.10"},
      {"REMOTE_PORT", "54321"},
      {"HTTP_HOST", "example.com:8080"},
      {"HTTP_USER_AGENT", "curl/8"},
      {"HTTP_ACCEPT", "*/*"},
      // Untrusted peer: the forwarded headers state the truth.
      {"HTTP_X_FORWARDED_FOR", "192.0.2.10"},
      {"HTTP_X_FORWARDED_PROTO", "http"},
      {"wsgi.url_scheme", "http"},
      {"HTTP_X_REQUEST_ID", "gen-1"},
      {"hearth.request_id", "gen-1"},
  };
  EXPECT_EQ(env, expected);
}

TEST(BuildEnviron, ValuesOfEveryShortLengthAreCopiedExactly) {
  // Values up to 16 bytes are copied with overlapping word moves, longer ones
  // by memcpy: every length from 0 to 40, in a header, a joined repeat, the
  // method and the path, each byte distinct so a misplaced byte shows.
  const std::string alphabet = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ";
  for (std::size_t n = 0; n <= 40; ++n) {
    const std::string v = alphabet.substr(0, n);
    const std::string w = alphabet.substr(n % 7, n);
    auto r = make_request(n == 0 ? "GET" : "M" + v, "/" + v + "?" + w,
                          {{"Host", "h"}, {"X-Test", v}, {"X-Join", v}, {"X-Join", w}});
    auto env = env_of(r);
    EXPECT_EQ(env["HTTP_X_TEST"], v) << n;
    EXPECT_EQ(env["HTTP_X_JOIN"], v + ", " + w) << n;
    EXPECT_EQ(env["REQUEST_METHOD"], n == 0 ? "GET" : "M" + v) << n;
    EXPECT_EQ(env["PATH_INFO"], "/" + v) << n;
    EXPECT_EQ(env["QUERY_STRING"], w) << n;
    EXPECT_EQ(env["RAW_URI"], "/" + v + "?" + w) << n;
  }
}

TEST(BuildEnviron, EmptyQueryAndHttp10) {
  auto r = make_request("HEAD", "/", {{"Host", "h"}});
  r.version = 10;
  auto env = env_of(r);
  EXPECT_EQ(env["PATH_INFO"], "/");
  EXPECT_EQ(env["QUERY_STRING"], "");
  EXPECT_EQ(env["SERVER_PROTOCOL"], "HTTP/1.0");
  EXPECT_EQ(env["REQUEST_METHOD"], "HEAD");
}

TEST(BuildEnviron, QueryKeepsEverythingAfterFirstQuestionMark) {
  auto env = env_of(make_request("GET", "/p%3F?a=%3F?b", {{"Host", "h"}}));
  EXPECT_EQ(env["PATH_INFO"], "/p?");
  EXPECT_EQ(env["QUERY_STRING"], "a=%3F?b");
}

TEST(BuildEnviron, PathInfoIsLatin1Bytes) {
  auto env = env_of(make_request("GET", "/caf%C3%A9+x", {{"Host", "h"}}));
  EXPECT_EQ(env["PATH_INFO"], "/caf\xc3\xa9+x");  // '+' is not a space in a path
}

TEST(BuildEnviron, AsteriskTarget) {
  auto env = env_of(make_request("OPTIONS", "*", {{"Host", "h"}}));
  EXPECT_EQ(env["PATH_INFO"], "*");
}

TEST(BuildEnviron, ServerNameAndPortFromHost) {
  struct Case {
    std::string host;
    bool tls;
    std::string name, port;
  } cases[] = {
      {"example.com", false, "example.com", "80"},
      {"example.com", true, "example.com", "443"},
      {"example.com:8443", true, "example.com", "8443"},
      {"[::1]:8080", false, "[::1]", "8080"},
      {"[2001:db8::1]", false, "[2001:db8::1]", "80"},
      {"[2001:db8::1]", true, "[2001:db8::1]", "443"},
  };
  for (auto& c : cases) {
    auto r = make_request("GET", "/", {{"Host", c.host}});
    r.tls = c.tls;
    auto env = env_of(r);
    EXPECT_EQ(env["SERVER_NAME"], c.name) << c.host;
    EXPECT_EQ(env["SERVER_PORT"], c.port) << c.host;
    EXPECT_EQ(env["wsgi.url_scheme"], c.tls ? "https" : "http") << c.host;
  }
}

TEST(BuildEnviron, NoHostFallsBackToTheSocket) {
  auto r = make_request("GET", "/", {});
  r.version = 10;
  auto env = env_of(r);
  EXPECT_EQ(env["SERVER_NAME"], "127.0.0.1");
  EXPECT_EQ(env["SERVER_PORT"], "8000");
  EXPECT_FALSE(env.count("HTTP_HOST"));

  r.local_addr = "";  // Unix socket
  r.local_port = 0;
  env = env_of(r);
  EXPECT_EQ(env["SERVER_NAME"], "localhost");
  EXPECT_EQ(env["SERVER_PORT"], "0");
}

// Ports are written by a small uint16 formatter (docs/profile.md, issue 14):
// the same text as std::to_string for every value, on both sides.
TEST(BuildEnviron, PortsInDecimalForEveryValue) {
  auto r = make_request("GET", "/", {});
  r.version = 10;  // no Host: SERVER_PORT is the socket's
  for (uint32_t port = 0; port <= 65535; port += (port < 1100 ? 1 : 97)) {
    r.peer_port = static_cast<uint16_t>(port);
    r.local_port = static_cast<uint16_t>(65535 - port);
    auto env = env_of(r);
    ASSERT_EQ(env["REMOTE_PORT"], std::to_string(port));
    ASSERT_EQ(env["SERVER_PORT"], std::to_string(65535 - port));
  }
  r.peer_port = 65535;
  r.local_port = 10000;
  auto env = env_of(r);
  EXPECT_EQ(env["REMOTE_PORT"], "65535");
  EXPECT_EQ(env["SERVER_PORT"], "10000");
}

TEST(BuildEnviron, AbsoluteFormTarget) {
  auto r = make_request("GET", "http://origin.example:81/x%2Fy?q=1", {{"Host", "ignored.example"}});
  auto env = env_of(r);
  EXPECT_EQ(env["PATH_INFO"], "/x/y");
  EXPECT_EQ(env["QUERY_STRING"], "q=1");
  EXPECT_EQ(env["SERVER_NAME"], "origin.example");
  EXPECT_EQ(env["SERVER_PORT"], "81");
  EXPECT_EQ(env["RAW_URI"], "http://origin.example:81/x%2Fy?q=1");
  // RFC 9112 3.2.2: the target's authority replaces Host, for the app too.
  EXPECT_EQ(env["HTTP_HOST"], "origin.example:81");

  env = env_of(make_request("GET", "https://secure.example", {}));
  EXPECT_EQ(env["HTTP_HOST"], "secure.example");
  EXPECT_EQ(env["PATH_INFO"], "/");
  EXPECT_EQ(env["QUERY_STRING"], "");
  EXPECT_EQ(env["SERVER_NAME"], "secure.example");

  // An empty path in absolute form means "/" (RFC 9112 3.2.2), with or without a query.
  env = env_of(make_request("GET", "http://h.example?only=query", {}));
  EXPECT_EQ(env["PATH_INFO"], "/");
  EXPECT_EQ(env["QUERY_STRING"], "only=query");
  EXPECT_EQ(env["SERVER_NAME"], "h.example");
}

TEST(BuildEnviron, ContentTypeAndLengthPresence) {
  // GET without a body: neither key.
  auto env = env_of(make_request("GET", "/", {{"Host", "h"}}));
  EXPECT_FALSE(env.count("CONTENT_TYPE"));
  EXPECT_FALSE(env.count("CONTENT_LENGTH"));
  EXPECT_FALSE(env.count("HTTP_CONTENT_TYPE"));
  EXPECT_FALSE(env.count("HTTP_CONTENT_LENGTH"));

  // POST with a body: both, and the length is the real body size.
  auto r = make_request("POST", "/", {{"Host", "h"}, {"Content-Type", "application/json"}, {"Content-Length", "7"}});
  ASSERT_FALSE(r.body.append("{\"a\":1}"));
  env = env_of(r);
  EXPECT_EQ(env["CONTENT_TYPE"], "application/json");
  EXPECT_EQ(env["CONTENT_LENGTH"], "7");
  EXPECT_FALSE(env.count("HTTP_CONTENT_TYPE"));
  EXPECT_FALSE(env.count("HTTP_CONTENT_LENGTH"));

  // Content-Length: 0 with an empty body: present as "0".
  env = env_of(make_request("POST", "/", {{"Host", "h"}, {"Content-Length", "0"}}));
  EXPECT_EQ(env["CONTENT_LENGTH"], "0");
  EXPECT_FALSE(env.count("CONTENT_TYPE"));

  // Chunked with an empty body: "0", and Transfer-Encoding is not passed.
  r = make_request("POST", "/", {{"Host", "h"}, {"Transfer-Encoding", "chunked"}});
  r.body_was_chunked = true;
  env = env_of(r);
  EXPECT_EQ(env["CONTENT_LENGTH"], "0");
  EXPECT_FALSE(env.count("HTTP_TRANSFER_ENCODING"));

  // Chunked with a body: the decoded length.
  r = make_request("POST", "/", {{"Host", "h"}, {"Transfer-Encoding", "chunked"}});
  r.body_was_chunked = true;
  ASSERT_FALSE(r.body.append("hello world"));
  env = env_of(r);
  EXPECT_EQ(env["CONTENT_LENGTH"], "11");
}

TEST(BuildEnviron, HeaderNamesAndJoining) {
  auto r = make_request("GET", "/", {{"Host", "h"},
                                     {"x-custom-thing", "1"},
                                     {"Accept", "text/html"},
                                     {"X-Custom-Thing", "2"},
                                     {"Cookie", "a=1"},
                                     {"cookie", "b=2"},
                                     {"Accept", "*/*"},
                                     {"Cookie", "c=3"}});
  auto env = env_of(r);
  EXPECT_EQ(env["HTTP_X_CUSTOM_THING"], "1, 2");
  EXPECT_EQ(env["HTTP_ACCEPT"], "text/html, */*");
  EXPECT_EQ(env["HTTP_COOKIE"], "a=1; b=2; c=3");
}

TEST(BuildEnviron, ValuesUsedTwiceOutgrowTheFirstReserve) {
  // A trusted X-Forwarded-For is written twice (HTTP_X_FORWARDED_FOR and
  // REMOTE_ADDR) and joined repeats add separators: the block grows past its
  // first estimate and must come out intact.
  const std::string ip(6000, 'a');
  auto r = make_request("GET", "/%41", {{"Host", "h"},
                                        {"X-Forwarded-For", "1.1.1.1, " + ip},
                                        {"X-Forwarded-For", ip},
                                        {"Cookie", "c=1"},
                                        {"Cookie", "d=2"}});
  auto env = env_of(r, opts({"*"}));
  EXPECT_EQ(env["HTTP_X_FORWARDED_FOR"], "1.1.1.1, " + ip + ", " + ip);
  EXPECT_EQ(env["REMOTE_ADDR"], ip);
  EXPECT_EQ(env["HTTP_COOKIE"], "c=1; d=2");
  EXPECT_EQ(env["PATH_INFO"], "/A");
  EXPECT_EQ(env["hearth.request_id"], "gen-1");
}

TEST(BuildEnviron, UnderscoreProxyAndHopByHopHeadersDropped) {
  auto r = make_request("POST", "/", {{"Host", "h"},
                                      {"X_Forwarded_For", "6.6.6.6"},
                                      {"X-Forwarded_For", "6.6.6.6"},
                                      {"Foo_Bar", "x"},
                                      {"Proxy", "http://evil:3128"},
                                      {"Connection", "keep-alive"},
                                      {"Keep-Alive", "timeout=5"},
                                      {"Expect", "100-continue"},
                                      {"Transfer-Encoding", "chunked"},
                                      {"Foo-Bar", "kept"}});
  auto env = env_of(r);
  EXPECT_EQ(env["HTTP_FOO_BAR"], "kept");
  EXPECT_FALSE(env.count("HTTP_PROXY"));
  EXPECT_FALSE(env.count("HTTP_CONNECTION"));
  EXPECT_FALSE(env.count("HTTP_KEEP_ALIVE"));
  EXPECT_FALSE(env.count("HTTP_EXPECT"));
  EXPECT_FALSE(env.count("HTTP_TRANSFER_ENCODING"));
  EXPECT_EQ(env["HTTP_X_FORWARDED_FOR"], "192.0.2.10");  // the peer, not the spoof
  EXPECT_EQ(env["REMOTE_ADDR"], "192.0.2.10");
}

TEST(BuildEnviron, RequestIdKeptWhenSane) {
  auto r = make_request("GET", "/", {{"Host", "h"}, {"X-Request-ID", "abc-123_x.y:z"}});
  EnvironResult res = build_environ(r, opts(), "gen-9");
  EXPECT_EQ(res.request_id, "abc-123_x.y:z");
  auto env = parse_block(res.block);
  EXPECT_EQ(env["HTTP_X_REQUEST_ID"], "abc-123_x.y:z");
  EXPECT_EQ(env["hearth.request_id"], "abc-123_x.y:z");
}

TEST(BuildEnviron, RequestIdGeneratedWhenInsane) {
  for (std::string bad : {"has space"s, "semi;colon"s, ""s, std::string(129, 'a'), "new\nline"s, "caf\xc3\xa9"s}) {
    auto r = make_request("GET", "/", {{"Host", "h"}, {"x-request-id", bad}});
    EnvironResult res = build_environ(r, opts(), "gen-7");
    EXPECT_EQ(res.request_id, "gen-7") << bad;
    auto env = parse_block(res.block);
    EXPECT_EQ(env["HTTP_X_REQUEST_ID"], "gen-7");
    EXPECT_EQ(env["hearth.request_id"], "gen-7");
  }
  auto r = make_request("GET", "/", {{"Host", "h"}, {"X-Request-ID", std::string(128, 'a')}});
  EXPECT_EQ(build_environ(r, opts(), "g").request_id, std::string(128, 'a'));
}

TEST(BuildEnviron, ForwardedHeadersFromTrustedPeer) {
  auto r = make_request("GET", "/", {{"Host", "public.example"},
                                     {"X-Forwarded-For", "203.0.113.5,  10.0.0.7"},
                                     {"X-Forwarded-Proto", "HTTPS"}});
  auto env = env_of(r, opts({"10.9.9.9", "192.0.2.10"}));
  EXPECT_EQ(env["REMOTE_ADDR"], "10.0.0.7");  // last hop, trimmed
  EXPECT_EQ(env["REMOTE_PORT"], "54321");
  EXPECT_EQ(env["wsgi.url_scheme"], "https");
  EXPECT_EQ(env["SERVER_PORT"], "443");  // default port follows the forwarded scheme
  EXPECT_EQ(env["HTTP_X_FORWARDED_FOR"], "203.0.113.5,  10.0.0.7");  // passed on as sent
  EXPECT_EQ(env["HTTP_X_FORWARDED_PROTO"], "HTTPS");
}

TEST(BuildEnviron, ForwardedSingleEntryAndWildcard) {
  auto r = make_request("GET", "/", {{"Host", "h"}, {"X-Forwarded-For", "203.0.113.5"}});
  auto env = env_of(r, opts({"*"}));
  EXPECT_EQ(env["REMOTE_ADDR"], "203.0.113.5");
  EXPECT_EQ(env["wsgi.url_scheme"], "http");
}

TEST(BuildEnviron, ForwardedProtoOtherThanHttpIgnored) {
  auto r = make_request("GET", "/", {{"Host", "h"}, {"X-Forwarded-Proto", "gopher"}});
  r.tls = true;
  auto env = env_of(r, opts({"*"}));
  EXPECT_EQ(env["wsgi.url_scheme"], "https");
}

TEST(BuildEnviron, ForwardedHeadersFromUntrustedPeerReplaced) {
  auto r = make_request("GET", "/", {{"Host", "h"},
                                     {"X-Forwarded-For", "203.0.113.5"},
                                     {"X-Forwarded-Proto", "https"}});
  auto env = env_of(r, opts({"10.0.0.1"}));
  EXPECT_EQ(env["REMOTE_ADDR"], "192.0.2.10");
  EXPECT_EQ(env["wsgi.url_scheme"], "http");
  EXPECT_EQ(env["SERVER_PORT"], "80");
  EXPECT_EQ(env["HTTP_X_FORWARDED_FOR"], "192.0.2.10");
  EXPECT_EQ(env["HTTP_X_FORWARDED_PROTO"], "http");
}

TEST(BuildEnviron, AbsoluteFormSchemeIsCaseInsensitive) {
  auto env = env_of(make_request("GET", "HTTP://Up.Example:8080/p?q", {{"Host", "other"}}));
  EXPECT_EQ(env["HTTP_HOST"], "Up.Example:8080");
  EXPECT_EQ(env["PATH_INFO"], "/p");
  EXPECT_EQ(env["QUERY_STRING"], "q");
  EXPECT_EQ(env["SERVER_PORT"], "8080");
}

// Issue 16: an app building password-reset links from X-Forwarded-Host (Django's
// USE_X_FORWARDED_HOST, werkzeug's ProxyFix) must not see a client's claim.
TEST(BuildEnviron, HostAndAddressClaimsFromUntrustedPeerDropped) {
  auto r = make_request("GET", "/", {{"Host", "h"},
                                     {"X-Forwarded-Host", "evil.example"},
                                     {"Forwarded", "for=203.0.113.5;host=evil.example;proto=https"},
                                     {"X-Real-IP", "203.0.113.5"},
                                     {"X-Forwarded-Port", "443"},
                                     {"X-Forwarded-Prefix", "/evil"},
                                     {"x-forwarded-host", "again.example"}});
  auto env = env_of(r, opts({"10.0.0.1"}));
  for (const char* k : {"HTTP_X_FORWARDED_HOST", "HTTP_FORWARDED", "HTTP_X_REAL_IP", "HTTP_X_FORWARDED_PORT",
                        "HTTP_X_FORWARDED_PREFIX"}) {
    EXPECT_FALSE(env.count(k)) << k;
  }
  EXPECT_EQ(env["HTTP_HOST"], "h");
  EXPECT_EQ(env["REMOTE_ADDR"], "192.0.2.10");
}

TEST(BuildEnviron, HostAndAddressClaimsFromTrustedPeerKept) {
  auto r = make_request("GET", "/", {{"Host", "h"},
                                     {"X-Forwarded-Host", "public.example"},
                                     {"Forwarded", "for=203.0.113.5;host=public.example"},
                                     {"X-Real-IP", "203.0.113.5"}});
  auto env = env_of(r, opts({"192.0.2.10"}));
  EXPECT_EQ(env["HTTP_X_FORWARDED_HOST"], "public.example");
  EXPECT_EQ(env["HTTP_FORWARDED"], "for=203.0.113.5;host=public.example");
  EXPECT_EQ(env["HTTP_X_REAL_IP"], "203.0.113.5");
}

TEST(BuildEnviron, UnixPeerTrustedOnlyWhenAllowed) {
  auto r = make_request("GET", "/", {{"Host", "h"}, {"X-Forwarded-For", "203.0.113.5"}});
  r.peer_addr = "";
  r.peer_port = 0;
  auto env = env_of(r, opts({"unix"}));
  EXPECT_EQ(env["REMOTE_ADDR"], "203.0.113.5");

  env = env_of(r, opts({"127.0.0.1"}));
  EXPECT_EQ(env["REMOTE_ADDR"], "");
  EXPECT_FALSE(env.count("HTTP_X_FORWARDED_FOR"));  // no peer address to state
  EXPECT_EQ(env["HTTP_X_FORWARDED_PROTO"], "http");
}

TEST(BuildEnviron, BadPercentEncodingIsAnError) {
  for (std::string target : {"/a%00b"s, "/a%zz"s, "/a%4"s, "/a%"s, "/%g0"s}) {
    EnvironResult res = build_environ(make_request("GET", target, {{"Host", "h"}}), opts(), "g");
    EXPECT_EQ(res.error, "bad percent-encoding in the request path") << target;
    // The 400 still carries an id (issue 16: it went out as an empty X-Request-ID).
    EXPECT_EQ(res.request_id, "g") << target;
  }
  EnvironResult kept = build_environ(make_request("GET", "/%00", {{"Host", "h"}, {"X-Request-ID", "client-7"}}),
                                     opts(), "g");
  EXPECT_EQ(kept.request_id, "client-7");
  // Bad escapes in the query are the app's business.
  EnvironResult res = build_environ(make_request("GET", "/ok?x=%zz%00", {{"Host", "h"}}), opts(), "g");
  EXPECT_EQ(res.error, "");
  EXPECT_EQ(parse_block(res.block)["QUERY_STRING"], "x=%zz%00");
}

TEST(PercentDecode, Values) {
  EXPECT_EQ(percent_decode(""), "");
  EXPECT_EQ(percent_decode("abc"), "abc");
  EXPECT_EQ(percent_decode("%41%62%2f%2F"), "Ab//");
  EXPECT_EQ(percent_decode("%ff"), "\xff");
  EXPECT_EQ(percent_decode("a%20"), "a ");
  EXPECT_EQ(percent_decode("%2525"), "%25");  // one pass only
  EXPECT_FALSE(percent_decode("%00"));
  EXPECT_FALSE(percent_decode("%"));
  EXPECT_FALSE(percent_decode("%1"));
  EXPECT_FALSE(percent_decode("x%1"));
  EXPECT_FALSE(percent_decode("%G1"));
  EXPECT_FALSE(percent_decode("%1g"));
}

TEST(ForwardedAllowed, Rules) {
  EXPECT_FALSE(forwarded_allowed({}, "127.0.0.1"));
  EXPECT_TRUE(forwarded_allowed({"*"}, "198.51.100.1"));
  EXPECT_TRUE(forwarded_allowed({"10.0.0.1", "127.0.0.1"}, "127.0.0.1"));
  EXPECT_FALSE(forwarded_allowed({"10.0.0.1"}, "10.0.0.10"));
  EXPECT_FALSE(forwarded_allowed({"10.0.0.1"}, ""));
}

TEST(SaneRequestId, Rules) {
  EXPECT_TRUE(sane_request_id("a"));
  EXPECT_TRUE(sane_request_id("A-z_0.9:x"));
  EXPECT_TRUE(sane_request_id(std::string(128, '7')));
  EXPECT_FALSE(sane_request_id(std::string(129, '7')));
  EXPECT_FALSE(sane_request_id(""));
  EXPECT_FALSE(sane_request_id("a b"));
  EXPECT_FALSE(sane_request_id("a/b"));
  EXPECT_FALSE(sane_request_id("a\"b"));
}

}  // namespace
}  // namespace hearth::proxy

namespace hearth::proxy {
namespace {

// [[apps]] mounted under a prefix (docs/several-apps.md): SCRIPT_NAME is the
// mount, PATH_INFO the rest of the decoded path; the raw target is unchanged.
TEST(BuildEnvironMounted, ScriptNameIsThePrefixAndPathInfoTheRest) {
  EnvironOptions o = opts();
  o.script_name = "/blog";
  auto env = env_of(make_request("GET", "/blog/post%201?x=1", {{"Host", "h"}}), o);
  EXPECT_EQ(env["SCRIPT_NAME"], "/blog");
  EXPECT_EQ(env["PATH_INFO"], "/post 1");
  EXPECT_EQ(env["QUERY_STRING"], "x=1");
  EXPECT_EQ(env["REQUEST_URI"], "/blog/post%201?x=1");
  auto root = env_of(make_request("GET", "/blog", {{"Host", "h"}}), o);
  EXPECT_EQ(root["SCRIPT_NAME"], "/blog");
  EXPECT_EQ(root["PATH_INFO"], "");
  // Unmounted (the single-app form): as before.
  auto plain = env_of(make_request("GET", "/blog/x", {{"Host", "h"}}));
  EXPECT_EQ(plain["SCRIPT_NAME"], "");
  EXPECT_EQ(plain["PATH_INFO"], "/blog/x");
}

TEST(BuildEnvironMounted, MountedPathInfoSplitsOnASegmentBoundaryOnly) {
  EXPECT_EQ(mounted_path_info("/blog/x", "/blog"), "/x");
  EXPECT_EQ(mounted_path_info("/blog/", "/blog"), "/");
  EXPECT_EQ(mounted_path_info("/blog", "/blog"), "");
  EXPECT_EQ(mounted_path_info("/blogger", "/blog"), "/blogger");
  EXPECT_EQ(mounted_path_info("/other", "/blog"), "/other");
}

}  // namespace
}  // namespace hearth::proxy
