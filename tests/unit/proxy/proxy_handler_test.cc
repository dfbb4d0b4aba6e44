#include "proxy/proxy_handler.h"

#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <string>

#include "../supervisor/slot_harness.h"

namespace hearth::proxy {
namespace {

using namespace std::string_literals;
using hearth::testing::RecordingSink;
using hearth::testing::run_until;
using hearth::testing::SlotPair;
using ms = std::chrono::milliseconds;

std::map<std::string, std::string> split_env(const std::string& block) {
  std::map<std::string, std::string> env;
  std::size_t pos = 0;
  while (pos <= block.size()) {
    std::size_t k = block.find('\0', pos);
    if (k == std::string::npos) break;
    std::size_t v = block.find('\0', k + 1);
    env[block.substr(pos, k - pos)] = block.substr(k + 1, v == std::string::npos ? std::string::npos : v - k - 1);
    if (v == std::string::npos) break;
    pos = v + 1;
  }
  return env;
}

class ProxyHandlerTest : public ::testing::Test {
 protected:
  void TearDown() override { pair_.shutdown(io_); }
  std::shared_ptr<http::Request> request(std::string target, std::vector<http::Header> headers = {}) {
    auto r = hearth::testing::make_request("GET", std::move(target));
    r->headers = std::move(headers);
    r->peer_addr = "127.0.0.1";
    r->peer_port = 40000;
    return r;
  }

  boost::asio::io_context io_;
  ManualClock clock_;
  Dispatcher dispatcher_{io_, clock_, 10, ms{1000}};
  ProxyHandler handler_{dispatcher_, EnvironOptions{{}, "hearth/test"}};
  SlotPair pair_ = SlotPair::make(io_, nullptr, 1, 0);
};

TEST_F(ProxyHandlerTest, BuildsTheEnvironAndDispatches) {
  dispatcher_.on_slot_free(pair_.slot);
  auto sink = std::make_shared<RecordingSink>();
  handler_.handle(request("/p%20q?x=1", {{"Host", "example.com"}}), sink);
  EXPECT_EQ(handler_.requests(), 1u);
  EXPECT_EQ(dispatcher_.stats().dispatched, 1u);
  auto got = pair_.worker->await_request(io_);
  ASSERT_TRUE(got);
  auto env = split_env(got->environ);
  EXPECT_EQ(env["PATH_INFO"], "/p q");
  EXPECT_EQ(env["QUERY_STRING"], "x=1");
  EXPECT_EQ(env["SERVER_SOFTWARE"], "hearth/test");
  // Generated ids: a per-process hex prefix and the request counter.
  EXPECT_TRUE(std::regex_match(env["hearth.request_id"], std::regex("[0-9a-f]{8}-1"))) << env["hearth.request_id"];
  EXPECT_EQ(env["HTTP_X_REQUEST_ID"], env["hearth.request_id"]);

  pair_.worker->respond("200 OK", "ok");
  ASSERT_TRUE(run_until(io_, [&] { return sink->finished(); }));
  EXPECT_EQ(sink->status, 200);
}

TEST_F(ProxyHandlerTest, IdsCountUpAndClientIdsAreKept) {
  dispatcher_.on_slot_free(pair_.slot);
  handler_.handle(request("/", {{"X-Request-ID", "client-id-7"}}), std::make_shared<RecordingSink>());
  auto got = pair_.worker->await_request(io_);
  ASSERT_TRUE(got);
  EXPECT_EQ(split_env(got->environ)["hearth.request_id"], "client-id-7");
  pair_.worker->respond("200 OK", "");
  ASSERT_TRUE(run_until(io_, [&] { return pair_.slot->state() == supervisor::WorkerSlot::State::Idle; }));

  dispatcher_.on_slot_free(pair_.slot);
  handler_.handle(request("/"), std::make_shared<RecordingSink>());
  got = pair_.worker->await_request(io_);
  ASSERT_TRUE(got);
  EXPECT_TRUE(std::regex_match(split_env(got->environ)["hearth.request_id"], std::regex("[0-9a-f]{8}-2")));
  EXPECT_EQ(handler_.requests(), 2u);
}

TEST_F(ProxyHandlerTest, BadPathIs400AndNotDispatched) {
  dispatcher_.on_slot_free(pair_.slot);
  auto sink = std::make_shared<RecordingSink>();
  handler_.handle(request("/a%00b"), sink);
  EXPECT_EQ(sink->status, 400);
  EXPECT_EQ(sink->body_text, "Bad Request: bad percent-encoding in the request path\n");
  EXPECT_EQ(sink->finished_ok, true);
  EXPECT_EQ(dispatcher_.stats().dispatched, 0u);
  EXPECT_EQ(dispatcher_.free_slots(), 1u);
  EXPECT_EQ(pair_.slot->state(), supervisor::WorkerSlot::State::Idle);
}

}  // namespace
}  // namespace hearth::proxy
