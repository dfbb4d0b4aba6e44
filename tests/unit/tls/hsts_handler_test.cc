#include "tls/hsts_handler.h"

#include <gtest/gtest.h>

namespace hearth::tls {
namespace {

using std::chrono::seconds;

// Records what reaches the connection's sink.
class RecordingSink : public http::ResponseSink {
 public:
  void start(int s, std::string_view, std::vector<http::Header> h) override {
    status = s;
    headers = std::move(h);
  }
  void body(std::string_view d) override { out += d; }
  void finish(bool ok) override { finished = ok ? 1 : 2; }
  bool client_gone() const override { return gone; }
  int status = 0;
  std::vector<http::Header> headers;
  std::string out;
  int finished = 0;
  bool gone = false;
};

class AppHandler : public http::RequestHandler {
 public:
  void handle(std::shared_ptr<http::Request>, std::shared_ptr<http::ResponseSink> sink) override {
    saw_gone = sink->client_gone();
    sink->start(200, "", extra);
    sink->body("hi");
    sink->finish(true);
  }
  std::vector<http::Header> extra;
  bool saw_gone = false;
};

int count(const std::vector<http::Header>& hs, const std::string& name) {
  int n = 0;
  for (const auto& h : hs) n += h.name == name || h.name == "strict-transport-security";
  return n;
}

TEST(Hsts, Value) { EXPECT_EQ(hsts_value(seconds(31536000)), "max-age=31536000"); }

TEST(Hsts, AddedOnTlsRequestsOnly) {
  AppHandler app;
  HstsHandler h(app, seconds(600));
  auto req = std::make_shared<http::Request>();
  req->tls = true;
  auto sink = std::make_shared<RecordingSink>();
  h.handle(req, sink);
  ASSERT_EQ(count(sink->headers, "Strict-Transport-Security"), 1);
  EXPECT_EQ(sink->headers.back().value, "max-age=600");
  EXPECT_EQ(sink->out, "hi");
  EXPECT_EQ(sink->finished, 1);

  auto plain = std::make_shared<http::Request>();
  auto sink2 = std::make_shared<RecordingSink>();
  h.handle(plain, sink2);
  EXPECT_EQ(count(sink2->headers, "Strict-Transport-Security"), 0);
}

TEST(Hsts, TheAppsOwnHeaderWins) {
  AppHandler app;
  app.extra = {http::Header{"strict-transport-security", "max-age=5; includeSubDomains"}};
  HstsHandler h(app, seconds(600));
  auto req = std::make_shared<http::Request>();
  req->tls = true;
  auto sink = std::make_shared<RecordingSink>();
  h.handle(req, sink);
  ASSERT_EQ(sink->headers.size(), 1u);
  EXPECT_EQ(sink->headers[0].value, "max-age=5; includeSubDomains");
}

TEST(Hsts, ClientGoneIsForwarded) {
  AppHandler app;
  HstsHandler h(app, seconds(1));
  auto req = std::make_shared<http::Request>();
  req->tls = true;
  auto sink = std::make_shared<RecordingSink>();
  sink->gone = true;
  h.handle(req, sink);
  EXPECT_TRUE(app.saw_gone);
}

}  // namespace
}  // namespace hearth::tls

namespace hearth::tls {
namespace {

// The wrapper hands a file body on as a region (so the connection can still
// sendfile it or copy it in chunks) instead of reading it into body().
TEST(Hsts, ForwardsFileBodiesAsRegions) {
  struct RegionSink : RecordingSink {
    bool body_file(int fd, uint64_t offset, uint64_t length) override {
      region = {fd, offset, length};
      return true;
    }
    std::tuple<int, uint64_t, uint64_t> region{-1, 0, 0};
  };
  struct FileApp : http::RequestHandler {
    void handle(std::shared_ptr<http::Request>, std::shared_ptr<http::ResponseSink> sink) override {
      sink->start(200, "", {});
      ok = sink->body_file(42, 7, 1000);
      sink->finish(true);
    }
    bool ok = false;
  };
  FileApp app;
  HstsHandler h(app, seconds(60));
  auto req = std::make_shared<http::Request>();
  req->tls = true;
  auto sink = std::make_shared<RegionSink>();
  h.handle(req, sink);
  EXPECT_TRUE(app.ok);
  EXPECT_EQ(sink->region, std::make_tuple(42, uint64_t{7}, uint64_t{1000}));
  EXPECT_EQ(sink->out, "");
}

}  // namespace
}  // namespace hearth::tls
