// The [[apps]] front handler (app/app_router.h): each request reaches the
// handler of the app its Host and decoded path route to; misses are 421/404,
// a Closed app answers 503 without reaching its handler.
#include "app/app_router.h"

#include <gtest/gtest.h>

#include "http/request.h"

namespace hearth::app {
namespace {

struct RecordingSink : http::ResponseSink {
  int status = 0;
  std::vector<http::Header> headers;
  void start(int s, std::string_view, std::vector<http::Header> h) override {
    status = s;
    headers = std::move(h);
  }
  void body(std::string_view) override {}
  void finish(bool) override {}
  bool client_gone() const override { return false; }
};

struct CountingHandler : http::RequestHandler {
  std::vector<std::string> targets;
  void handle(std::shared_ptr<http::Request> r, std::shared_ptr<http::ResponseSink> sink) override {
    targets.push_back(r->target);
    sink->start(200, "", {});
    sink->finish(true);
  }
};

class AppRouterTest : public ::testing::Test {
 protected:
  AppRouterTest() {
    auto built = routing::RouteTable::build({
        {"api", {"api.example.com"}, "", false},
        {"blog", {}, "/blog", false},
        {"admin", {"admin.example.com"}, "/x", false},
    });
    EXPECT_TRUE(built.errors.empty());
    router_ = std::make_unique<AppRouter>(
        std::move(*built.table),
        std::vector<AppRouter::Target>{{&api_, nullptr}, {&blog_, [this] { return blog_gate_; }}, {&admin_, nullptr}});
  }

  int send(std::string target, std::string host) {
    auto req = std::make_shared<http::Request>();
    req->method = "GET";
    req->target = std::move(target);
    if (!host.empty()) req->headers.push_back({"Host", std::move(host)});
    auto sink = std::make_shared<RecordingSink>();
    router_->handle(req, sink);
    return sink->status;
  }

  CountingHandler api_, blog_, admin_;
  AppRouter::Gate blog_gate_ = AppRouter::Gate::Open;
  std::unique_ptr<AppRouter> router_;
};

TEST_F(AppRouterTest, RoutesByHostThenPrefix) {
  EXPECT_EQ(send("/anything", "API.example.com:8080"), 200);
  EXPECT_EQ(send("/blog/x?y=1", "www.example.com"), 200);
  EXPECT_EQ(send("/%62log/", "www.example.com"), 200);  // the decoded path is routed
  EXPECT_EQ(send("/x/1", "admin.example.com"), 200);
  EXPECT_EQ(api_.targets, (std::vector<std::string>{"/anything"}));
  EXPECT_EQ(blog_.targets, (std::vector<std::string>{"/blog/x?y=1", "/%62log/"}));
  EXPECT_EQ(admin_.targets, (std::vector<std::string>{"/x/1"}));
}

TEST_F(AppRouterTest, AbsoluteFormTargetsRouteByTheirAuthority) {
  EXPECT_EQ(send("http://api.example.com/p", "other.example.com"), 200);
  EXPECT_EQ(api_.targets.size(), 1u);
}

TEST_F(AppRouterTest, MissesAre421Or404) {
  // No default app: a host nothing serves, and a path outside every prefix.
  EXPECT_EQ(send("/", "nobody.example.com"), 404);  // the default group (blog) has no "/" prefix
  EXPECT_EQ(send("/blogger", ""), 404);
  EXPECT_EQ(send("/y", "admin.example.com"), 404);
  EXPECT_EQ(router_->not_found(), 3u);
  EXPECT_TRUE(api_.targets.empty() && blog_.targets.empty() && admin_.targets.empty());
}

TEST(AppRouter, UnknownHostWithoutADefaultGroupIs421) {
  auto built = routing::RouteTable::build({{"api", {"api.example.com"}, "", false}});
  ASSERT_TRUE(built.table);
  CountingHandler api;
  AppRouter router(std::move(*built.table), {{&api, nullptr}});
  auto req = std::make_shared<http::Request>();
  req->target = "/";
  req->headers.push_back({"Host", "other.example.com"});
  auto sink = std::make_shared<RecordingSink>();
  router.handle(req, sink);
  EXPECT_EQ(sink->status, 421);
  EXPECT_EQ(router.misdirected(), 1u);
  // HTTP/1.0 without a Host: no default, 404.
  req->headers.clear();
  sink = std::make_shared<RecordingSink>();
  router.handle(req, sink);
  EXPECT_EQ(sink->status, 404);
}

TEST_F(AppRouterTest, AClosedAppAnswers503AndTheOthersServe) {
  blog_gate_ = AppRouter::Gate::Closed;
  EXPECT_EQ(send("/blog/", "www.example.com"), 503);
  EXPECT_EQ(send("/", "api.example.com"), 200);
  EXPECT_TRUE(blog_.targets.empty());
  blog_gate_ = AppRouter::Gate::Open;
  EXPECT_EQ(send("/blog/", "www.example.com"), 200);
}

}  // namespace
}  // namespace hearth::app
