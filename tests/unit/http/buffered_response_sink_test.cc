#include "http/buffered_response_sink.h"
#include "http/hop_by_hop.h"

#include <gtest/gtest.h>

#include <string>

namespace hearth::http {
namespace {

class FakeTransport : public SinkTransport {
 public:
  void on_sink_output() override { ++notified; }
  int notified = 0;
};

class SinkTest : public ::testing::Test {
 protected:
  BufferedResponseSink& make(int version = 11, bool is_head = false, bool keep_alive = true) {
    sink_ = std::make_unique<BufferedResponseSink>(limits_, temp_dir_, &date_, &transport_,
                                                   BufferedResponseSink::Options{version, is_head, keep_alive});
    return *sink_;
  }
  // Drains everything currently queued, as the connection would.
  std::string drain() {
    std::string out;
    for (;;) {
      std::string_view v = sink_->next_output();
      if (v.empty()) break;
      // Write in two steps to exercise partial consumption.
      std::size_t half = (v.size() + 1) / 2;
      out.append(v.substr(0, half));
      sink_->consume(half);
      v = sink_->next_output();
      out.append(v);
      sink_->consume(v.size());
    }
    return out;
  }
  static std::string head_of(const std::string& wire) { return wire.substr(0, wire.find("\r\n\r\n") + 4); }
  static std::string body_of(const std::string& wire) { return wire.substr(wire.find("\r\n\r\n") + 4); }

  config::HttpLimits limits_;
  std::string temp_dir_ = "/tmp";
  DateCache date_;
  FakeTransport transport_;
  std::unique_ptr<BufferedResponseSink> sink_;
};

TEST_F(SinkTest, ContentLengthResponse) {
  auto& s = make();
  s.start(200, "", {{"Content-Length", "5"}, {"X-App", "1"}});
  s.body("hel");
  s.body("lo");
  s.finish(true);
  std::string wire = drain();
  EXPECT_TRUE(s.complete());
  EXPECT_FALSE(s.must_close());
  EXPECT_EQ(wire.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  std::string head = head_of(wire);
  EXPECT_NE(head.find("\r\nContent-Length: 5\r\n"), std::string::npos);
  EXPECT_NE(head.find("\r\nX-App: 1\r\n"), std::string::npos);
  EXPECT_NE(head.find("\r\nServer: hearth\r\n"), std::string::npos);
  EXPECT_NE(head.find("\r\nDate: "), std::string::npos);
  EXPECT_EQ(head.find("Connection"), std::string::npos);
  EXPECT_EQ(body_of(wire), "hello");
  EXPECT_GE(transport_.notified, 1);
}

TEST_F(SinkTest, ChunkedWhenNoLength) {
  auto& s = make();
  s.start(200, "Fine", {});
  s.body("abc");
  s.body(std::string(20, 'x'));
  s.finish(true);
  std::string wire = drain();
  EXPECT_EQ(wire.rfind("HTTP/1.1 200 Fine\r\n", 0), 0u);
  EXPECT_NE(head_of(wire).find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_EQ(body_of(wire), "3\r\nabc\r\n14\r\n" + std::string(20, 'x') + "\r\n0\r\n\r\n");
  EXPECT_FALSE(s.must_close());
}

TEST_F(SinkTest, ReasonWithCrOrLfReplacedByTheStandardPhrase) {
  struct Case {
    std::string reason;
    std::string line;
  };
  for (const Case& c : {Case{"Fine", "HTTP/1.1 404 Fine\r\n"}, Case{"", "HTTP/1.1 404 Not Found\r\n"},
                        Case{"a\rb", "HTTP/1.1 404 Not Found\r\n"}, Case{"\nX: y", "HTTP/1.1 404 Not Found\r\n"},
                        Case{"ab\r", "HTTP/1.1 404 Not Found\r\n"}, Case{"x\ty", "HTTP/1.1 404 x\ty\r\n"}}) {
    auto& s = make();
    s.start(404, c.reason, {{"Content-Length", "0"}});
    s.finish(true);
    EXPECT_EQ(drain().rfind(c.line, 0), 0u) << c.reason;
  }
}

TEST_F(SinkTest, StripsHopByHopAndUnsafeHeaders) {
  auto& s = make();
  s.start(200, "", {{"Connection", "keep-alive"},
                    {"Keep-Alive", "5"},
                    {"Transfer-Encoding", "chunked"},
                    {"Upgrade", "h2c"},
                    {"TE", "trailers"},
                    {"Trailer", "X"},
                    {"Proxy-Authenticate", "x"},
                    {"X-Split", "a\r\nInjected: 1"},
                    {"Content-Length", "0"}});
  s.finish(true);
  std::string head = head_of(drain());
  for (const char* h : {"Connection", "Keep-Alive", "Upgrade", "TE:", "Trailer", "Proxy-", "Injected", "X-Split"}) {
    EXPECT_EQ(head.find(h), std::string::npos) << h << " in " << head;
  }
  EXPECT_EQ(head.find("Transfer-Encoding"), std::string::npos);
  EXPECT_NE(head.find("Content-Length: 0\r\n"), std::string::npos);
}

// The one hop-by-hop list (http/hop_by_hop.h), which H2Connection uses too:
// the HTTP/1 sink drops a field exactly when is_hop_by_hop() says so.
// tests/integration/test_http2.py checks the two front doors agree on the wire.
TEST_F(SinkTest, DropsExactlyTheSharedHopByHopList) {
  struct Case {
    const char* name;
    bool hop;
  };
  const Case cases[] = {
      {"Connection", true},        {"keep-alive", true},       {"TE", true},
      {"trailer", true},           {"Transfer-Encoding", true}, {"UPGRADE", true},
      {"Proxy-Connection", true},  {"proxy-authenticate", true}, {"Proxy-X", true},
      {"Proxy", false},            {"Proxyx-A", false},        {"X-Connection", false},
      {"Connections", false},      {"Tee", false},             {"Upgrade-Insecure-Requests", false},
      {"Trailers", false},         {"X-App", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(is_hop_by_hop(c.name), c.hop) << c.name;
    auto& s = make();
    s.start(200, "", {{c.name, "v1"}, {"Content-Length", "0"}});
    s.finish(true);
    const std::string head = head_of(drain());
    const bool kept = head.find(std::string("\r\n") + c.name + ": v1\r\n") != std::string::npos;
    EXPECT_EQ(kept, !c.hop) << c.name << " in " << head;
  }
}

TEST_F(SinkTest, AppServerAndDateKept) {
  auto& s = make();
  s.start(200, "", {{"Server", "myapp"}, {"Date", "yesterday"}, {"Content-Length", "0"}});
  s.finish(true);
  std::string head = head_of(drain());
  EXPECT_NE(head.find("Server: myapp\r\n"), std::string::npos);
  EXPECT_EQ(head.find("Server: hearth"), std::string::npos);
  EXPECT_NE(head.find("Date: yesterday\r\n"), std::string::npos);
  EXPECT_EQ(head.find("GMT"), std::string::npos);
}

TEST_F(SinkTest, EmptyServerHeaderOmitted) {
  limits_.server_header = "";
  auto& s = make();
  s.simple(200, "text/plain", "x");
  EXPECT_EQ(head_of(drain()).find("Server:"), std::string::npos);
}

TEST_F(SinkTest, HeadSendsLengthButNoBody) {
  auto& s = make(11, /*is_head=*/true);
  s.start(200, "", {{"Content-Length", "5"}});
  s.body("hello");
  s.finish(true);
  std::string wire = drain();
  EXPECT_NE(wire.find("Content-Length: 5\r\n"), std::string::npos);
  EXPECT_EQ(body_of(wire), "");
  EXPECT_FALSE(s.must_close());
}

TEST_F(SinkTest, HeadWithoutLengthHasNoFraming) {
  auto& s = make(11, true);
  s.start(200, "", {});
  s.body("hello");
  s.finish(true);
  std::string wire = drain();
  EXPECT_EQ(wire.find("Transfer-Encoding"), std::string::npos);
  EXPECT_EQ(body_of(wire), "");
  EXPECT_FALSE(s.must_close());
}

TEST_F(SinkTest, NoBodyStatuses) {
  for (int status : {204, 304, 101}) {
    auto& s = make();
    s.start(status, "", {{"Content-Length", "3"}});
    s.body("abc");
    s.finish(true);
    std::string wire = drain();
    EXPECT_EQ(body_of(wire), "") << status;
    EXPECT_EQ(wire.find("Transfer-Encoding"), std::string::npos) << status;
    EXPECT_EQ(wire.find("Content-Length") != std::string::npos, status == 304) << status;
    EXPECT_FALSE(s.must_close()) << status;
  }
}

TEST_F(SinkTest, Http10CloseDelimited) {
  auto& s = make(10, false, /*keep_alive=*/true);
  s.start(200, "", {});
  s.body("raw");
  s.finish(true);
  std::string wire = drain();
  EXPECT_TRUE(s.must_close());
  EXPECT_NE(head_of(wire).find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(body_of(wire), "raw");
}

TEST_F(SinkTest, Http10KeepAliveWithLength) {
  auto& s = make(10, false, true);
  s.simple(200, "text/plain", "ok");
  std::string wire = drain();
  EXPECT_FALSE(s.must_close());
  EXPECT_NE(head_of(wire).find("Connection: keep-alive\r\n"), std::string::npos);
}

TEST_F(SinkTest, NotKeepAliveAddsConnectionClose) {
  auto& s = make(11, false, false);
  s.simple(404, "text/plain", "no");
  std::string wire = drain();
  EXPECT_TRUE(s.must_close());
  EXPECT_EQ(wire.rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u);
  EXPECT_NE(wire.find("Connection: close\r\n"), std::string::npos);
  EXPECT_NE(wire.find("Content-Type: text/plain\r\n"), std::string::npos);
  EXPECT_NE(wire.find("Content-Length: 2\r\n"), std::string::npos);
}

TEST_F(SinkTest, ShortBodyForcesClose) {
  auto& s = make();
  s.start(200, "", {{"Content-Length", "10"}});
  s.body("abc");
  s.finish(true);
  drain();
  EXPECT_TRUE(s.complete());
  EXPECT_TRUE(s.must_close());
}

TEST_F(SinkTest, LongBodyTruncatedAndClose) {
  auto& s = make();
  s.start(200, "", {{"Content-Length", "3"}});
  s.body("abcdef");
  s.finish(true);
  EXPECT_EQ(body_of(drain()), "abc");
  EXPECT_TRUE(s.must_close());
}

TEST_F(SinkTest, InvalidOrConflictingLengthFallsBackToChunked) {
  auto& s = make();
  s.start(200, "", {{"Content-Length", "3"}, {"Content-Length", "4"}});
  s.body("abc");
  s.finish(true);
  std::string wire = drain();
  EXPECT_NE(wire.find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_EQ(wire.find("Content-Length"), std::string::npos);
}

TEST_F(SinkTest, FinishFalseSkipsLastChunk) {
  auto& s = make();
  s.start(200, "", {});
  s.body("abc");
  s.finish(false);
  std::string wire = drain();
  EXPECT_TRUE(s.complete());
  EXPECT_TRUE(s.must_close());
  EXPECT_EQ(body_of(wire), "3\r\nabc\r\n");
}

TEST_F(SinkTest, SpillsBeyondResponseBuffer) {
  limits_.response_buffer_size = 1000;
  auto& s = make();
  s.start(200, "", {{"Content-Length", "100000"}});
  std::string expected;
  for (int i = 0; i < 100; ++i) {
    std::string piece(1000, static_cast<char>('a' + i % 26));
    expected += piece;
    s.body(piece);
  }
  s.finish(true);
  std::string wire = drain();
  EXPECT_TRUE(s.complete());
  EXPECT_FALSE(s.must_close());
  EXPECT_EQ(body_of(wire), expected);
}

TEST_F(SinkTest, InterleavedDrainAndSpillKeepsOrder) {
  limits_.response_buffer_size = 10;
  auto& s = make();
  s.start(200, "", {{"Content-Length", "60"}});
  std::string wire;
  std::string expected;
  for (int i = 0; i < 6; ++i) {
    std::string piece(10, static_cast<char>('0' + i));
    expected += piece;
    s.body(piece);
    // Take one slice out each time, like a slow client.
    std::string_view v = s.next_output();
    std::size_t n = std::min<std::size_t>(v.size(), 7);
    wire.append(v.substr(0, n));
    s.consume(n);
  }
  s.finish(true);
  wire += drain();
  EXPECT_EQ(body_of(wire), expected);
}

TEST_F(SinkTest, SpillFailureForcesClose) {
  limits_.response_buffer_size = 10;
  temp_dir_ = "/nonexistent-hearth-dir";
  auto& s = make();
  s.start(200, "", {{"Content-Length", "100"}});
  s.body(std::string(100, 'x'));
  s.finish(true);
  drain();
  EXPECT_TRUE(s.complete());
  EXPECT_TRUE(s.must_close());
}

TEST_F(SinkTest, DetachedSinkIgnoresEverything) {
  auto& s = make();
  s.detach();
  EXPECT_TRUE(s.client_gone());
  s.start(200, "", {});
  s.body("x");
  s.finish(true);
  EXPECT_TRUE(s.next_output().empty());
  EXPECT_EQ(transport_.notified, 0);
}

TEST_F(SinkTest, CallsAfterFinishIgnored) {
  auto& s = make();
  s.simple(200, "text/plain", "ok");
  std::string wire = drain();
  s.body("more");
  s.finish(false);
  EXPECT_TRUE(s.next_output().empty());
  EXPECT_FALSE(s.must_close());
}

// --- back-pressure: max_response_spool / max_total_response_spool --------------

TEST_F(SinkTest, SpoolNeverExceedsMaxResponseSpoolAndFullPausesTheProducer) {
  limits_.response_buffer_size = 10;
  limits_.max_response_spool = 100;
  auto& s = make();
  s.start(200, "", {{"Content-Length", "1000"}});
  std::string head = std::string(s.next_output());  // the head is in memory
  s.consume(head.size());
  int woken = 0;
  std::string sent;
  // The producer writes 40-byte pieces until full(), as a WorkerSlot reads until it sees full().
  int pieces = 0;
  while (!s.full() && pieces < 25) {
    s.body(std::string(40, static_cast<char>('a' + pieces)));
    ++pieces;
  }
  ASSERT_TRUE(s.full());
  EXPECT_EQ(pieces, 3);  // 80 bytes fit in the 100-byte spool, the third piece overflows
  s.when_writable([&] { ++woken; });
  EXPECT_EQ(woken, 0);
  // The client reads: the spool drains, then the overflow goes out and the producer is woken.
  for (std::string_view v = s.next_output(); !v.empty(); v = s.next_output()) {
    sent.append(v);
    s.consume(v.size());
  }
  EXPECT_EQ(woken, 1);
  EXPECT_FALSE(s.full());
  EXPECT_EQ(sent, std::string(40, 'a') + std::string(40, 'b') + std::string(40, 'c'));
}

TEST_F(SinkTest, TotalSpoolIsSharedBetweenSinks) {
  limits_.response_buffer_size = 200;  // the heads stay in memory
  limits_.max_response_spool = 1000;
  limits_.max_total_response_spool = 500;
  uint64_t total = 0;
  FakeTransport t2;
  BufferedResponseSink a(limits_, temp_dir_, &date_, &transport_, {11, false, true, false, &total});
  BufferedResponseSink b(limits_, temp_dir_, &date_, &t2, {11, false, true, false, &total});
  a.start(200, "", {{"Content-Length", "300"}});
  b.start(200, "", {{"Content-Length", "300"}});
  a.body(std::string(300, 'a'));
  EXPECT_FALSE(a.full());
  EXPECT_EQ(total, 300u);
  b.body(std::string(300, 'b'));  // 600 together would pass 500: held aside, b must pause
  EXPECT_TRUE(b.full());
  EXPECT_EQ(total, 300u);
  // b's client reads: its head, then what was held aside; the producer is woken.
  int woken = 0;
  b.when_writable([&] { ++woken; });
  std::string wire;
  for (std::string_view v = b.next_output(); !v.empty(); v = b.next_output()) {
    wire.append(v);
    b.consume(v.size());
  }
  EXPECT_EQ(woken, 1);
  EXPECT_EQ(body_of(wire), std::string(300, 'b'));
  a.detach();
  EXPECT_EQ(total, 0u);  // every spool's bytes are given back
}

TEST_F(SinkTest, DetachWakesAPausedProducer) {
  limits_.response_buffer_size = 0;
  limits_.max_response_spool = 10;
  auto& s = make();
  s.start(200, "", {{"Content-Length", "100"}});
  s.body(std::string(100, 'x'));
  ASSERT_TRUE(s.full());
  int woken = 0;
  s.when_writable([&] { ++woken; });
  s.detach();
  EXPECT_EQ(woken, 1);
  EXPECT_FALSE(s.full());
}

// --- streamed responses (set_streaming) and ClientGoneListener -------------------

TEST_F(SinkTest, StreamNeverSpillsAndPausesTheProducerBeyondTheMemoryBuffer) {
  limits_.response_buffer_size = 100;
  limits_.max_response_spool = 1 << 20;
  uint64_t total = 0;
  sink_ = std::make_unique<BufferedResponseSink>(limits_, temp_dir_, &date_, &transport_,
                                                 BufferedResponseSink::Options{11, false, true, false, &total});
  auto& s = *sink_;
  s.set_streaming();
  s.start(200, "", {{"Content-Type", "text/event-stream"}});
  std::string wire(s.next_output());  // the head goes out at once
  s.consume(wire.size());
  s.body(std::string(60, 'a'));  // in memory
  EXPECT_FALSE(s.full());
  s.body(std::string(60, 'b'));  // past response_buffer_size: held, the producer must pause
  EXPECT_TRUE(s.full());
  EXPECT_EQ(total, 0u);  // nothing went to a temp file
  int woken = 0;
  s.when_writable([&] { ++woken; });
  EXPECT_EQ(woken, 0);
  for (std::string_view v = s.next_output(); !v.empty(); v = s.next_output()) {
    wire.append(v);
    s.consume(v.size());
  }
  EXPECT_EQ(woken, 1);
  EXPECT_FALSE(s.full());
  s.body("c");
  s.finish(true);
  wire += drain();
  EXPECT_TRUE(s.complete());
  EXPECT_FALSE(s.must_close());
  EXPECT_EQ(body_of(wire), "3c\r\n" + std::string(60, 'a') + "\r\n3c\r\n" + std::string(60, 'b') +
                               "\r\n1\r\nc\r\n0\r\n\r\n");
  sink_.reset();  // before `total`, which it points to, goes out of scope
}

TEST_F(SinkTest, UnstreamedResponseSpillsInsteadOfPausing) {
  // The same writes without set_streaming(): the temp file takes them (proxy_buffering on).
  limits_.response_buffer_size = 100;
  limits_.max_response_spool = 1 << 20;
  uint64_t total = 0;
  sink_ = std::make_unique<BufferedResponseSink>(limits_, temp_dir_, &date_, &transport_,
                                                 BufferedResponseSink::Options{11, false, true, false, &total});
  auto& s = *sink_;
  s.start(200, "", {});
  s.consume(s.next_output().size());
  s.body(std::string(60, 'a'));
  s.body(std::string(60, 'b'));
  EXPECT_FALSE(s.full());
  EXPECT_GT(total, 0u);
  sink_.reset();  // its destructor gives the spool back to `total`, which dies with this body
  EXPECT_EQ(total, 0u);
}

class GoneCounter : public ClientGoneListener {
 public:
  void on_client_gone() override { ++told; }
  int told = 0;
};

TEST_F(SinkTest, WatcherIsToldOnceWhenTheClientLeavesMidResponse) {
  GoneCounter g;
  auto& s = make();
  s.watch_client(&g);
  s.set_streaming();
  s.start(200, "", {});
  s.body("x");
  s.detach();
  EXPECT_EQ(g.told, 1);
  EXPECT_TRUE(s.client_gone());
  s.detach();
  EXPECT_EQ(g.told, 1);
}

TEST_F(SinkTest, WatcherIsNotToldAfterTheEndOrOnceUnregistered) {
  GoneCounter g;
  auto& s = make();
  s.watch_client(&g);
  s.simple(200, "text/plain", "ok");
  s.detach();  // finished: nobody to stop
  EXPECT_EQ(g.told, 0);
  auto& t = make();
  t.watch_client(&g);
  t.watch_client(nullptr);
  t.detach();
  EXPECT_EQ(g.told, 0);
}

TEST(SinkRecycle, RecycleForgetsTheWatcherAndStreaming) {
  config::HttpLimits limits;
  limits.response_buffer_size = 10;
  std::string temp_dir = "/tmp";
  DateCache date;
  FakeTransport t;
  GoneCounter g;
  BufferedResponseSink s(limits, temp_dir, &date, &t, {});
  s.watch_client(&g);
  s.set_streaming();
  s.simple(200, "text/plain", "ok");
  for (std::string_view v = s.next_output(); !v.empty(); v = s.next_output()) s.consume(v.size());
  ASSERT_TRUE(s.recycle());
  s.reuse(&t, {});
  s.start(200, "", {});
  s.body(std::string(50, 'x'));  // beyond the 10-byte buffer: spilled, not held
  EXPECT_FALSE(s.full());
  s.detach();
  EXPECT_EQ(g.told, 0);
}

TEST(DateCache, FormatsImfFixdate) {
  char buf[32];
  EXPECT_EQ(DateCache::format(784111777, buf), "Sun, 06 Nov 1994 08:49:37 GMT");
  DateCache c;
  EXPECT_EQ(c.now().size(), 29u);
}

}  // namespace
}  // namespace hearth::http

namespace hearth::http {
namespace {

// Everything queued now, in one go.
std::string drain_all(BufferedResponseSink& s) {
  std::string out;
  for (std::string_view v = s.next_output(); !v.empty(); v = s.next_output()) {
    out.append(v);
    s.consume(v.size());
  }
  return out;
}

// A recycled sink answers its next response byte for byte as a new one does,
// whatever the previous response left behind (framing, must_close, a file).
TEST(SinkRecycle, ReusedSinkWritesWhatANewOneWrites) {
  config::HttpLimits limits;
  FakeTransport t1, t2, t3;
  BufferedResponseSink used(limits, "/tmp", nullptr, &t1, BufferedResponseSink::Options{10, false, false});
  used.start(200, "", {{"X-A", "1"}});  // HTTP/1.0, no length: close-delimited, must_close
  used.body("first");
  used.finish(true);
  drain_all(used);
  ASSERT_TRUE(used.complete());
  ASSERT_TRUE(used.must_close());
  ASSERT_TRUE(used.recycle());
  EXPECT_TRUE(used.client_gone());  // detached until reused
  EXPECT_FALSE(used.started());
  EXPECT_EQ(used.body_bytes(), 0u);

  auto respond = [](BufferedResponseSink& s) {
    s.start(200, "", {{"Content-Type", "text/plain"}});  // HTTP/1.1, no length: chunked
    s.body("hello");
    s.finish(true);
    return drain_all(s);
  };
  used.reuse(&t2, BufferedResponseSink::Options{11, false, true});
  BufferedResponseSink fresh(limits, "/tmp", nullptr, &t3, BufferedResponseSink::Options{11, false, true});
  const std::string a = respond(used), b = respond(fresh);
  EXPECT_EQ(a, b);
  EXPECT_NE(a.find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_EQ(used.must_close(), fresh.must_close());
  EXPECT_TRUE(used.complete());
  EXPECT_GT(t2.notified, 0);
  EXPECT_EQ(t1.notified, 1 + 1 + 1);  // start, body, finish of the first response only
}

// A sink whose buffers grew for a large response is not kept (memory), and is
// detached as by detach().
TEST(SinkRecycle, LargeBuffersAreNotKept) {
  config::HttpLimits limits;
  FakeTransport t;
  BufferedResponseSink s(limits, "/tmp", nullptr, &t, BufferedResponseSink::Options{11, false, true});
  s.start(200, "", {{"Content-Length", "20000"}});
  s.body(std::string(20000, 'x'));
  s.finish(true);
  drain_all(s);
  EXPECT_FALSE(s.recycle());
  EXPECT_TRUE(s.client_gone());
}

}  // namespace
}  // namespace hearth::http

namespace hearth::http {
namespace {

// A transport whose write_now() takes at most `budget` bytes per call (as a socket
// buffer would) into `wire`, or none while `in_flight` (a write of its own pending).
class DirectTransport : public SinkTransport {
 public:
  void on_sink_output() override { ++notified; }
  std::size_t write_now(std::string_view first, std::string_view second) override {
    ++calls;
    if (in_flight) return 0;
    std::string both = std::string(first) + std::string(second);
    std::size_t n = std::min(both.size(), budget);
    wire.append(both, 0, n);
    return n;
  }
  std::size_t budget = SIZE_MAX;
  bool in_flight = false;
  int calls = 0;
  int notified = 0;
  std::string wire;
};

class WriteThroughTest : public ::testing::Test {
 protected:
  BufferedResponseSink& make() {
    sink_ = std::make_unique<BufferedResponseSink>(limits_, temp_dir_, &date_, &transport_,
                                                   BufferedResponseSink::Options{11, false, true});
    return *sink_;
  }
  // What the connection would write after the direct writes: the queue, drained.
  void drain() {
    for (;;) {
      std::string_view v = sink_->next_output();
      if (v.empty()) break;
      transport_.wire.append(v);
      sink_->consume(v.size());
    }
  }
  static std::string body_of(const std::string& wire) { return wire.substr(wire.find("\r\n\r\n") + 4); }
  static std::string pattern(std::size_t n, char seed) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i % 23);
    return s;
  }

  config::HttpLimits limits_;
  std::string temp_dir_ = "/tmp";
  DateCache date_;
  DirectTransport transport_;
  std::unique_ptr<BufferedResponseSink> sink_;
};

TEST_F(WriteThroughTest, LargePieceLeavesWithTheHeadInOneDirectWrite) {
  auto& s = make();
  const std::string body = pattern(100 * 1024, 'a');
  s.start(200, "", {{"Content-Length", std::to_string(body.size())}});
  s.body(body);
  EXPECT_EQ(transport_.calls, 1);
  EXPECT_EQ(s.next_output(), "");  // nothing was copied into the queue
  s.finish(true);
  drain();
  EXPECT_TRUE(s.complete());
  EXPECT_EQ(transport_.wire.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_EQ(body_of(transport_.wire), body);
}

TEST_F(WriteThroughTest, SmallPiecesAreQueuedAsBefore) {
  auto& s = make();
  s.start(200, "", {{"Content-Length", "5"}});
  s.body("hello");
  EXPECT_EQ(transport_.calls, 0);
  s.finish(true);
  drain();
  EXPECT_EQ(body_of(transport_.wire), "hello");
}

TEST_F(WriteThroughTest, PartialWritesKeepTheOrder) {
  // The socket takes part of the head only, then part of a piece, then nothing (in flight).
  for (std::size_t budget : {std::size_t{10}, std::size_t{200}, std::size_t{40000}}) {
    transport_ = DirectTransport{};
    transport_.budget = budget;
    auto& s = make();
    const std::string a = pattern(20000, 'A'), b = pattern(30000, 'b'), c = pattern(17000, '0');
    s.start(200, "", {{"Content-Length", std::to_string(a.size() + b.size() + c.size())}});
    s.body(a);
    if (budget < SIZE_MAX) {
      // What was queued goes out before the next piece may be written through.
      std::string_view v = s.next_output();
      transport_.wire.append(v.substr(0, v.size() / 2));
      s.consume(v.size() / 2);  // half of it is "in flight"
    }
    s.body(b);  // the queue is partly written: b must be queued, not written now
    drain();
    transport_.in_flight = true;
    s.body(c);
    transport_.in_flight = false;
    s.finish(true);
    drain();
    EXPECT_TRUE(s.complete());
    EXPECT_EQ(body_of(transport_.wire), a + b + c) << "budget " << budget;
  }
}

TEST_F(WriteThroughTest, ChunkedBodiesAreNeverWrittenThrough) {
  auto& s = make();
  const std::string body = pattern(20000, 'z');
  s.start(200, "", {});
  s.body(body);
  s.finish(true);
  drain();
  EXPECT_EQ(transport_.calls, 0);
  EXPECT_EQ(body_of(transport_.wire), "4e20\r\n" + body + "\r\n0\r\n\r\n");
}

TEST_F(WriteThroughTest, TruncatedToTheDeclaredLength) {
  auto& s = make();
  const std::string body = pattern(40000, 'q');
  s.start(200, "", {{"Content-Length", "30000"}});
  s.body(body);
  s.finish(true);
  drain();
  EXPECT_EQ(body_of(transport_.wire), body.substr(0, 30000));
  EXPECT_TRUE(s.must_close());
}

}  // namespace
}  // namespace hearth::http
