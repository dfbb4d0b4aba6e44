#pragma once
// Shared fixture for the HttpServer end-to-end tests: a real server on
// 127.0.0.1:0, a scriptable fake handler, raw clients.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "http/handler.h"
#include "net/http_server.h"
#include "test_client.h"

namespace hearth::net::testing {

class FakeHandler : public http::RequestHandler {
 public:
  using Fn = std::function<void(std::shared_ptr<http::Request>, std::shared_ptr<http::ResponseSink>)>;
  void handle(std::shared_ptr<http::Request> request,
              std::shared_ptr<http::ResponseSink> sink) override {
    requests.push_back(request);
    if (on_request) {
      on_request(std::move(request), std::move(sink));
    } else {
      sink->simple(200, "text/plain", "hello " + request->target);
    }
  }
  Fn on_request;
  std::vector<std::shared_ptr<http::Request>> requests;
};

class ServerTest : public ::testing::Test {
 protected:
  void start_server(config::HttpLimits limits = {}, std::string temp_dir = "") {
    server_ = std::make_unique<HttpServer>(io_, limits, temp_dir, handler_, "http");
    config::Bind bind;
    bind.host = "127.0.0.1";
    bind.port = 0;
    bind.text = "127.0.0.1:0";
    server_->listen(bind);
    server_->start();
    auto urls = server_->bound_urls();
    ASSERT_EQ(urls.size(), 1u);
    const std::string prefix = "http://127.0.0.1:";
    ASSERT_EQ(urls[0].rfind(prefix, 0), 0u) << urls[0];
    port_ = static_cast<uint16_t>(std::stoi(urls[0].substr(prefix.size())));
    ASSERT_NE(port_, 0);
  }

  std::unique_ptr<TestClient> connect() {
    auto c = std::make_unique<TestClient>(io_, port_);
    EXPECT_TRUE(c->connected());
    return c;
  }

  // Sends `raw` on a fresh connection and returns the single response.
  ParsedResponse roundtrip(const std::string& raw) {
    auto c = connect();
    EXPECT_TRUE(c->send(raw));
    auto rs = c->read_responses(1);
    EXPECT_EQ(rs.size(), 1u) << "got: " << c->received();
    return rs.empty() ? ParsedResponse{} : rs[0];
  }

  boost::asio::io_context io_;
  FakeHandler handler_;
  std::unique_ptr<HttpServer> server_;
  uint16_t port_ = 0;
};

}  // namespace hearth::net::testing
