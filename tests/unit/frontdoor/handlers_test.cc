// The two RequestHandler decorators with a fake next handler and a recording
// sink: RateLimitHandler (manual clock) and CompressionHandler.
#include <gtest/gtest.h>
#include <zlib.h>

#include "frontdoor/compression_handler.h"
#include "frontdoor/rate_limit_handler.h"

namespace hearth::frontdoor {
namespace {

class RecordingSink final : public http::ResponseSink {
 public:
  void start(int s, std::string_view, std::vector<http::Header> h) override {
    status = s;
    headers = std::move(h);
  }
  void body(std::string_view d) override {
    data.append(d);
    ++bodies;
  }
  void finish(bool ok_) override {
    finished = true;
    ok = ok_;
  }
  bool client_gone() const override { return false; }
  void set_streaming() override { ++streaming; }
  void watch_client(http::ClientGoneListener* l) override { watcher = l; }
  std::string header(std::string_view name) const {
    for (const auto& h : headers) {
      if (h.name == name) return h.value;
    }
    return "";
  }
  int status = 0;
  std::vector<http::Header> headers;
  std::string data;
  int bodies = 0;
  bool finished = false, ok = false;
  int streaming = 0;
  http::ClientGoneListener* watcher = nullptr;
};

// Answers every request with what `respond` writes.
class FakeApp final : public http::RequestHandler {
 public:
  std::function<void(http::ResponseSink&)> respond = [](http::ResponseSink& s) {
    s.simple(200, "text/plain", "ok");
  };
  int calls = 0;
  void handle(std::shared_ptr<http::Request>, std::shared_ptr<http::ResponseSink> sink) override {
    ++calls;
    respond(*sink);
  }
};

std::shared_ptr<http::Request> request(std::string method, std::string target, std::string peer,
                                       std::vector<http::Header> headers = {}) {
  auto r = std::make_shared<http::Request>();
  r->method = std::move(method);
  r->target = std::move(target);
  r->peer_addr = std::move(peer);
  r->headers = std::move(headers);
  return r;
}

TEST(RateLimitHandler, LimitsPerRuleAndClientWithRetryAfter) {
  config::Config cfg;
  config::RateLimitRule r;
  r.prefix = "/api/";
  r.rate = "2/s";
  r.per_second = 2;
  r.burst = 1;
  cfg.rate_limits = {r};
  FakeApp app;
  ManualClock clock;
  RateLimitHandler h(cfg, app, nullptr, clock);
  auto send = [&](std::string target, std::string peer = "192.0.2.1") {
    auto sink = std::make_shared<RecordingSink>();
    h.handle(request("GET", std::move(target), std::move(peer)), sink);
    return sink;
  };
  EXPECT_EQ(send("/api/a")->status, 200);
  EXPECT_EQ(send("/api/a")->status, 200);
  auto limited = send("/api/a");
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(limited->header("Retry-After"), "1");
  EXPECT_EQ(limited->data, "429 Too Many Requests\n");
  EXPECT_EQ(app.calls, 2);
  EXPECT_EQ(send("/api/a", "192.0.2.2")->status, 200);  // another client
  EXPECT_EQ(send("/other")->status, 200);               // no rule
  clock.advance(std::chrono::milliseconds(500));
  EXPECT_EQ(send("/api/b")->status, 200);
  auto counts = h.limited();
  ASSERT_EQ(counts.size(), 1u);
  EXPECT_EQ(counts[0].rule, "/api/");
  EXPECT_EQ(counts[0].limited, 1u);
}

std::string gunzip(const std::string& in) {
  z_stream z{};
  inflateInit2(&z, 15 + 16);
  std::string out(1 << 20, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  inflate(&z, Z_FINISH);
  out.resize(out.size() - z.avail_out);
  inflateEnd(&z);
  return out;
}

// A streamed response (issue 17) stays one through the compressing sink, and the
// producer's client-gone watcher reaches the connection's sink.
TEST(CompressionHandler, ForwardsStreamingAndTheClientWatcher) {
  struct Watcher : http::ClientGoneListener {
    void on_client_gone() override {}
  } w;
  config::CompressionConfig cfg;
  cfg.enabled = true;
  FakeApp app;
  CompressionHandler h(cfg, app);
  app.respond = [&](http::ResponseSink& s) {
    s.watch_client(&w);
    s.set_streaming();
    s.start(200, "", {{"Content-Type", "text/event-stream"}});
    s.body("data: 1\n\n");
    s.finish(true);
  };
  auto sink = std::make_shared<RecordingSink>();
  h.handle(request("GET", "/", "", {{"Accept-Encoding", "gzip"}}), sink);
  EXPECT_EQ(sink->streaming, 1);
  EXPECT_EQ(sink->watcher, &w);
  EXPECT_TRUE(sink->finished && sink->ok);
}

TEST(CompressionHandler, CompressesStreamsAndLeavesOthersAlone) {
  config::CompressionConfig cfg;
  cfg.enabled = true;
  FakeApp app;
  CompressionHandler h(cfg, app);
  std::string html(20000, 'x');
  app.respond = [&](http::ResponseSink& s) {
    s.start(200, "", {{"Content-Type", "text/html"}, {"Content-Length", std::to_string(html.size())}, {"ETag", "\"v1\""}});
    s.body(html.substr(0, 5000));
    s.body(html.substr(5000));
    s.finish(true);
  };
  auto sink = std::make_shared<RecordingSink>();
  h.handle(request("GET", "/", "", {{"Accept-Encoding", "gzip"}}), sink);
  EXPECT_EQ(sink->header("Content-Encoding"), "gzip");
  EXPECT_EQ(sink->header("Content-Length"), "");
  EXPECT_EQ(sink->header("ETag"), "W/\"v1\"");
  EXPECT_EQ(sink->header("Vary"), "Accept-Encoding");
  EXPECT_TRUE(sink->finished && sink->ok);
  EXPECT_EQ(sink->bodies, 3);  // one flushed piece per chunk, then the end of the stream
  EXPECT_EQ(gunzip(sink->data), html);
  EXPECT_EQ(h.compressed().gzip, 1u);
  EXPECT_EQ(h.compressed().br, 0u);

  // Without Accept-Encoding: the body as it is, with Vary.
  auto plain = std::make_shared<RecordingSink>();
  h.handle(request("GET", "/", ""), plain);
  EXPECT_EQ(plain->data, html);
  EXPECT_EQ(plain->header("Content-Encoding"), "");
  EXPECT_EQ(plain->header("Vary"), "Accept-Encoding");
  EXPECT_EQ(plain->header("ETag"), "\"v1\"");

  // Already encoded by the app: untouched.
  app.respond = [&](http::ResponseSink& s) {
    s.start(200, "", {{"Content-Type", "text/html"}, {"Content-Encoding", "gzip"}});
    s.body("opaque");
    s.finish(true);
  };
  auto pre = std::make_shared<RecordingSink>();
  h.handle(request("GET", "/", "", {{"Accept-Encoding", "gzip, br"}}), pre);
  EXPECT_EQ(pre->data, "opaque");
  EXPECT_EQ(pre->header("Vary"), "");
  EXPECT_EQ(h.compressed().gzip, 1u);
}

}  // namespace
}  // namespace hearth::frontdoor
