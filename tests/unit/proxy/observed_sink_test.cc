// ObservedSink options: Via (http.via), no X-Request-ID and is_static for
// static answers, body_file() counted and forwarded as a region, and a
// WebSocket's 101 not taken for a client that left.
#include "proxy/observed_sink.h"

#include <gtest/gtest.h>

namespace hearth::proxy {
namespace {

struct Inner : http::ResponseSink {
  std::vector<http::Header> headers;
  uint64_t region_length = 0;
  void start(int, std::string_view, std::vector<http::Header> h) override { headers = std::move(h); }
  void body(std::string_view) override {}
  bool body_file(int, uint64_t, uint64_t length) override {
    region_length = length;
    return true;
  }
  void finish(bool) override {}
  bool client_gone() const override { return gone; }
  bool gone = false;
  void set_streaming() override { ++streaming; }
  void watch_client(http::ClientGoneListener* l) override { watcher = l; }
  int streaming = 0;
  http::ClientGoneListener* watcher = nullptr;
  std::string get(const std::string& name) const {
    for (const auto& h : headers) {
      if (h.name == name) return h.value;
    }
    return "<none>";
  }
};

struct Observer : RequestObserver {
  std::vector<RequestRecord> done;
  void on_request_start() override {}
  void on_request_done(const RequestRecord& r) override { done.push_back(r); }
};

// Issue 17: a streamed response and the slot's client-gone watcher pass through.
TEST(ObservedSink, ForwardsStreamingAndTheClientWatcher) {
  struct Watcher : http::ClientGoneListener {
    void on_client_gone() override {}
  } w;
  SteadyClock clock;
  auto inner = std::make_shared<Inner>();
  ObservedSink s(inner, std::make_shared<http::Request>(), "id-1", nullptr, clock);
  s.watch_client(&w);
  s.set_streaming();
  EXPECT_EQ(inner->watcher, &w);
  EXPECT_EQ(inner->streaming, 1);
  s.watch_client(nullptr);
  EXPECT_EQ(inner->watcher, nullptr);
  s.start(200, "", {});
  s.finish(true);
}

TEST(ObservedSink, ViaIsAddedOrAppended) {
  SteadyClock clock;
  Observer obs;
  ObservedSink::Options o;
  o.via = "1.1 hearth";
  auto inner = std::make_shared<Inner>();
  {
    ObservedSink s(inner, std::make_shared<http::Request>(), "id-1", &obs, clock, o);
    s.start(200, "", {{"Content-Type", "text/plain"}});
    s.finish(true);
  }
  EXPECT_EQ(inner->get("Via"), "1.1 hearth");
  EXPECT_EQ(inner->get("X-Request-ID"), "id-1");
  {
    ObservedSink s(inner, std::make_shared<http::Request>(), "id-2", &obs, clock, o);
    s.start(200, "", {{"Via", "1.0 cdn"}});
    s.finish(true);
  }
  EXPECT_EQ(inner->get("Via"), "1.0 cdn, 1.1 hearth");
  {
    ObservedSink s(inner, std::make_shared<http::Request>(), "id-3", &obs, clock);  // default: no Via
    s.start(200, "", {});
    s.finish(true);
  }
  EXPECT_EQ(inner->get("Via"), "<none>");
  EXPECT_FALSE(obs.done.back().is_static);
}

TEST(ObservedSink, StaticAnswersAreMarkedAndCountFileBytes) {
  SteadyClock clock;
  Observer obs;
  ObservedSink::Options o;
  o.add_request_id = false;
  o.is_static = true;
  auto inner = std::make_shared<Inner>();
  {
    ObservedSink s(inner, std::make_shared<http::Request>(), "s-1", &obs, clock, o);
    s.start(206, "", {{"Content-Length", "5000"}});
    EXPECT_TRUE(s.body_file(3, 10, 5000));
    s.finish(true);
  }
  EXPECT_EQ(inner->get("X-Request-ID"), "<none>");
  EXPECT_EQ(inner->region_length, 5000u);
  ASSERT_EQ(obs.done.size(), 1u);
  EXPECT_TRUE(obs.done[0].is_static);
  EXPECT_EQ(obs.done[0].bytes_out, 5000u);
  EXPECT_EQ(obs.done[0].status, 206);
  EXPECT_EQ(obs.done[0].request_id, "s-1");
}

// A WebSocket's 101: the connection was handed over (the inner sink reports the
// client gone), which is not a client that left (499); any other status is.
TEST(ObservedSink, AHandedOverWebSocketIsNotAClientThatLeft) {
  SteadyClock clock;
  Observer obs;
  auto inner = std::make_shared<Inner>();
  inner->gone = true;
  {
    ObservedSink s(inner, std::make_shared<http::Request>(), "w-1", &obs, clock);
    s.start(101, "Switching Protocols", {});
    s.finish(true);
  }
  {
    ObservedSink s(inner, std::make_shared<http::Request>(), "w-2", &obs, clock);
    s.start(200, "", {});
    s.finish(false);
  }
  ASSERT_EQ(obs.done.size(), 2u);
  EXPECT_FALSE(obs.done[0].client_gone);
  EXPECT_EQ(obs.done[0].status, 101);
  EXPECT_TRUE(obs.done[1].client_gone);
}

}  // namespace
}  // namespace hearth::proxy
