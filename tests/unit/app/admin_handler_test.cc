#include "app/admin_handler.h"

#include <gtest/gtest.h>

#include "http/request.h"

namespace hearth::app {
namespace {

struct RecordingSink : http::ResponseSink {
  int status = 0;
  std::vector<http::Header> headers;
  std::string body_text;
  void start(int s, std::string_view, std::vector<http::Header> h) override {
    status = s;
    headers = std::move(h);
  }
  void body(std::string_view d) override { body_text += d; }
  void finish(bool) override {}
  bool client_gone() const override { return false; }
};

std::shared_ptr<RecordingSink> get(AdminHandler& h, std::string target, std::vector<http::Header> headers = {}) {
  auto req = std::make_shared<http::Request>();
  req->method = "GET";
  req->target = std::move(target);
  req->headers = std::move(headers);
  auto sink = std::make_shared<RecordingSink>();
  h.handle(req, sink);
  return sink;
}

AdminHandler::Probes probes() {
  return {[] { return true; }, [] { return std::string("hearth_up 1\n"); }};
}

TEST(AdminHandler, MetricsOpenWithoutAToken) {
  AdminHandler h(probes());
  auto s = get(h, "/metrics");
  EXPECT_EQ(s->status, 200);
  EXPECT_EQ(s->body_text, "hearth_up 1\n");
}

TEST(AdminHandler, MetricsNeedTheBearerToken) {
  AdminHandler h(probes(), "s3cret");
  auto s = get(h, "/metrics");
  EXPECT_EQ(s->status, 401);
  EXPECT_EQ(s->body_text.find("hearth_up"), std::string::npos);
  bool challenge = false;
  for (auto& hd : s->headers) challenge |= hd.name == "WWW-Authenticate";
  EXPECT_TRUE(challenge);
  EXPECT_EQ(get(h, "/metrics", {{"Authorization", "Bearer wrong"}})->status, 401);
  EXPECT_EQ(get(h, "/metrics", {{"Authorization", "Bearer s3cre"}})->status, 401);
  EXPECT_EQ(get(h, "/metrics", {{"Authorization", "Bearer s3cret!"}})->status, 401);
  EXPECT_EQ(get(h, "/metrics", {{"Authorization", "Basic s3cret"}})->status, 401);
  EXPECT_EQ(get(h, "/metrics", {{"Authorization", "Bearer "}})->status, 401);
  EXPECT_EQ(get(h, "/metrics", {{"Authorization", "Bearer s3cret"}})->status, 200);
  EXPECT_EQ(get(h, "/metrics?x=1", {{"authorization", "bearer s3cret"}})->status, 200);
}

TEST(AdminHandler, ProbesStayOpenWithAToken) {
  AdminHandler h(probes(), "s3cret");
  EXPECT_EQ(get(h, "/healthz")->status, 200);
  EXPECT_EQ(get(h, "/readyz")->status, 200);
}

TEST(AdminHandler, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "ab"));
  EXPECT_FALSE(constant_time_equal("", "a"));
  EXPECT_FALSE(constant_time_equal(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
}

}  // namespace
}  // namespace hearth::app

namespace hearth::app {
namespace {

TEST(AdminHandler, ReadyzForOneApp) {
  AdminHandler::Probes p = probes();
  p.ready = [] { return false; };
  p.app_ready = [](std::string_view name) { return name == "blog" ? 1 : name == "api" ? 0 : -1; };
  AdminHandler h(p);
  EXPECT_EQ(get(h, "/readyz?app=blog")->status, 200);
  EXPECT_EQ(get(h, "/readyz?app=api")->status, 503);
  EXPECT_EQ(get(h, "/readyz?app=nope")->status, 404);
  EXPECT_EQ(get(h, "/readyz")->status, 503);
}

}  // namespace
}  // namespace hearth::app
