// parse_simple_head() against RequestParser (Beast plus the front door's
// policy): whatever the one-pass path takes, the Beast path must accept and
// build identically (request, keep-alive, Expect). A fixed corpus, then
// deterministic byte mutations of it.
#include "http/simple_head.h"

#include <gtest/gtest.h>

#include <boost/beast/http/error.hpp>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "http/head_scanner.h"
#include "http/request_parser.h"

namespace hearth::http {
namespace {

config::HttpLimits test_limits() {
  config::HttpLimits l;
  l.max_header_size = 4096;
  l.max_headers = 8;
  l.max_header_field_size = 200;
  l.max_request_line = 300;
  return l;
}

// A head as HeadScanner would hand it over: whole, and nothing after it.
bool is_scanned_head(const std::string& raw, const config::HttpLimits& limits) {
  HeadScanner s(limits.max_header_size);
  return s.feed(raw) == HeadScanner::Result::Complete && s.head_size() == raw.size();
}

// Compares both paths on one head; returns whether the one-pass path took it.
bool check_same(const std::string& raw, const config::HttpLimits& limits) {
  Request simple;
  SimpleHeadFacts facts;
  const SimpleHead verdict = parse_simple_head(raw, limits, simple, facts);
  if (verdict != SimpleHead::Parsed) {
    EXPECT_TRUE(simple.headers.empty()) << raw;
    return false;
  }
  // RequestReader takes a buffer that ends in CRLF CRLF without HeadScanner:
  // whatever is taken must be one whole head to HeadScanner too.
  EXPECT_TRUE(is_scanned_head(raw, limits)) << "HeadScanner disagrees: " << raw;
  RequestParser beast(limits, "/tmp");
  boost::beast::error_code ec;
  const std::size_t n = beast.put(boost::asio::const_buffer(raw.data(), raw.size()), ec);
  EXPECT_FALSE(ec) << ec.message() << " for a head the one-pass path took: " << raw;
  if (ec) return true;
  EXPECT_EQ(n, raw.size()) << raw;
  EXPECT_TRUE(beast.is_done()) << "Beast expects a body: " << raw;
  EXPECT_EQ(beast.keep_alive(), facts.keep_alive) << raw;
  EXPECT_EQ(beast.expects_continue(), facts.expect_continue) << raw;
  const Request& b = *beast.request();
  EXPECT_EQ(b.method, simple.method) << raw;
  EXPECT_EQ(b.target, simple.target) << raw;
  EXPECT_EQ(b.version, simple.version) << raw;
  EXPECT_EQ(b.is_head, simple.is_head) << raw;
  EXPECT_EQ(b.headers.size(), simple.headers.size()) << raw;
  for (std::size_t i = 0; i < b.headers.size() && i < simple.headers.size(); ++i) {
    EXPECT_EQ(b.headers[i].name, simple.headers[i].name) << raw;
    EXPECT_EQ(b.headers[i].value, simple.headers[i].value) << raw;
  }
  return true;
}

const std::vector<std::string> kTaken = {
    "GET / HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n",
    "HEAD /a%20b?x=1 HTTP/1.1\r\nhost: example.com\r\n\r\n",
    "GET / HTTP/1.0\r\n\r\n",
    "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: h\r\nProxy-Connection: keep-alive\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: h\r\nX-Empty:\r\nX-Sp: \t a b \t\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: h\r\nX-Obs: caf\xc3\xa9\r\n\r\n",
    "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
    "GET http://h:80/p HTTP/1.1\r\nHost: h\r\n\r\n",
    "DELETE /x HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
    "POST /form HTTP/1.1\r\nHost: h\r\n\r\n",
};

// Buffers that end like a head but are not one whole head (RequestReader tries them first).
const std::vector<std::string> kNotOneHead = {
    "GET / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",  // pipelined
    "GET / HTTP/1.1\r\nHost: h\r\n\r\n\r\n\r\n",
    "GET / HTTP/1.1\nHost: h\r\n\r\n",          // bare LF
    "GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n",  // bare CR
    "GET / HTTP/1.1\r\nHost: h\r\n x\r\n\r\n",  // obs-fold
    "GET / HTTP/1.1\r\nHost: h\r\nX: a" + std::string(1, '\0') + "b\r\n\r\n",
};

const std::vector<std::string> kLeftToBeast = {
    "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: h\r\ncontent-length: 5\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, close\r\n\r\n",
    "GET / HTTP/1.1\r\n\r\n",                            // no Host
    "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",       // two
    "GET / HTTP/1.1\r\nHost: u@h\r\n\r\n",                // not a host
    "GET / HTTP/1.1\r\nHost : h\r\n\r\n",                 // space before the colon
    "GET / HTTP/2.0\r\nHost: h\r\n\r\n",
    "GET / HTTP/1.2\r\nHost: h\r\n\r\n",
    "GET  / HTTP/1.1\r\nHost: h\r\n\r\n",
    "GET / HTTP/1.1 \r\nHost: h\r\n\r\n",
    "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n",
    "GET /\x7f HTTP/1.1\r\nHost: h\r\n\r\n",
    "GET a HTTP/1.1\r\nHost: h\r\n\r\n",                  // not a target form
    "GET * HTTP/1.1\r\nHost: h\r\n\r\n",                  // "*" is for OPTIONS
    "G(T / HTTP/1.1\r\nHost: h\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: h\r\nX-Ctl: a\x01z\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: h\r\nX-Del: a\x7fz\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: h\r\nX-Long: " + std::string(250, 'a') + "\r\n\r\n",
    "GET /" + std::string(300, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\nG: 7\r\nH: 8\r\n\r\n",  // 9 > max_headers
};

TEST(SimpleHead, TakesPlainBodylessHeadsAsBeastBuildsThem) {
  const auto limits = test_limits();
  for (const auto& raw : kTaken) {
    ASSERT_TRUE(is_scanned_head(raw, limits)) << raw;
    EXPECT_TRUE(check_same(raw, limits)) << "not taken: " << raw;
  }
}

TEST(SimpleHead, LeavesBodiesFramingAndAnythingUnusualToBeast) {
  const auto limits = test_limits();
  for (const auto& raw : kLeftToBeast) {
    ASSERT_TRUE(is_scanned_head(raw, limits)) << raw;
    EXPECT_FALSE(check_same(raw, limits)) << "taken: " << raw;
  }
}

TEST(SimpleHead, TakesOnlyOneWholeHead) {
  const auto limits = test_limits();
  for (const auto& raw : kNotOneHead) {
    Request r;
    SimpleHeadFacts facts;
    EXPECT_EQ(parse_simple_head(raw, limits, r, facts), SimpleHead::Unusual) << raw;
    EXPECT_TRUE(r.headers.empty());
  }
  // Over max_header_size, even when HeadScanner is not asked.
  auto small = limits;
  small.max_header_size = 20;
  Request r;
  SimpleHeadFacts facts;
  EXPECT_EQ(parse_simple_head(kTaken[0], small, r, facts), SimpleHead::Unusual);
}

TEST(SimpleHead, KeepAliveAndExpectAsBeastReportsThem) {
  const auto limits = test_limits();
  struct Case {
    std::string raw;
    bool keep_alive;
    bool expect;
  };
  const std::vector<Case> cases = {
      {"GET / HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
      {"GET / HTTP/1.1\r\nHost: h\r\nConnection: CLOSE\r\n\r\n", false, false},
      {"GET / HTTP/1.0\r\n\r\n", false, false},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true, false},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", true, false},
      {"GET / HTTP/1.1\r\nHost: h\r\nexpect: 100-continue\r\n\r\n", true, true},
  };
  for (const auto& c : cases) {
    Request r;
    SimpleHeadFacts facts;
    ASSERT_EQ(parse_simple_head(c.raw, limits, r, facts), SimpleHead::Parsed) << c.raw;
    EXPECT_EQ(facts.keep_alive, c.keep_alive) << c.raw;
    EXPECT_EQ(facts.expect_continue, c.expect) << c.raw;
    EXPECT_TRUE(check_same(c.raw, limits));
  }
}

// Buffers ending in CRLF CRLF, mutated a byte or two at a time from the
// corpus (a fixed-seed generator): whatever the one-pass path takes,
// HeadScanner sees as one whole head and Beast takes the same way.
TEST(SimpleHead, MutatedHeadsAgreeWithBeast) {
  const auto limits = test_limits();
  std::vector<std::string> seeds = kTaken;
  seeds.insert(seeds.end(), kLeftToBeast.begin(), kLeftToBeast.end());
  seeds.insert(seeds.end(), kNotOneHead.begin(), kNotOneHead.end());
  static constexpr char kBytes[] = {' ', '\t', ':', '\r', '\n', '\x01', '\x7f', '\x80', '@', ',', '(', '/',
                                    '*', 'a', 'H', '0', '1', '.', '[', ']', '%', '?', '-', '\0'};
  uint64_t state = 0x9e3779b97f4a7c15ull;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  int taken = 0, scanned = 0;
  for (int i = 0; i < 40000; ++i) {
    std::string raw = seeds[next() % seeds.size()];
    const int edits = 1 + static_cast<int>(next() % 2);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = next() % raw.size();
      const char b = kBytes[next() % sizeof kBytes];
      switch (next() % 3) {
        case 0: raw[at] = b; break;
        case 1: raw.insert(raw.begin() + static_cast<std::ptrdiff_t>(at), b); break;
        default: raw.erase(at, 1); break;
      }
    }
    // Any buffer that ends like a head (RequestReader tries those), whether
    // HeadScanner completes it or not.
    if (raw.size() < 4 || raw.compare(raw.size() - 4, 4, "\r\n\r\n") != 0) continue;
    ++scanned;
    if (check_same(raw, limits)) ++taken;
    if (::testing::Test::HasFailure()) break;
  }
  // The mutations must reach both sides for the comparison to mean something.
  EXPECT_GT(scanned, 5000);
  EXPECT_GT(taken, 1000);
  EXPECT_LT(taken, scanned);
  std::printf("mutated buffers: %d ending in CRLF CRLF, %d taken by the one-pass path\n", scanned, taken);
}

}  // namespace
}  // namespace hearth::http
