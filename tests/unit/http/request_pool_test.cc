#include "http/request_pool.h"

#include <gtest/gtest.h>

#include <string>

#include "http/request_reader.h"

namespace hearth::http {
namespace {

using Step = RequestReader::Step;

// Every field of a recycled request is what a new Request has.
void expect_fresh(const Request& r) {
  const Request fresh;
  EXPECT_EQ(r.method, fresh.method);
  EXPECT_EQ(r.target, fresh.target);
  EXPECT_EQ(r.version, fresh.version);
  EXPECT_TRUE(r.headers.empty());
  EXPECT_EQ(r.keep_alive, fresh.keep_alive);
  EXPECT_EQ(r.is_head, fresh.is_head);
  EXPECT_EQ(r.body.size(), 0u);
  EXPECT_TRUE(r.body.in_memory());
  EXPECT_EQ(r.body_was_chunked, fresh.body_was_chunked);
  EXPECT_EQ(r.peer_addr, fresh.peer_addr);
  EXPECT_EQ(r.peer_port, fresh.peer_port);
  EXPECT_EQ(r.local_addr, fresh.local_addr);
  EXPECT_EQ(r.local_port, fresh.local_port);
  EXPECT_EQ(r.tls, fresh.tls);
  EXPECT_EQ(r.connection_id, fresh.connection_id);
  EXPECT_EQ(r.received_at, fresh.received_at);
}

std::shared_ptr<Request> used_request() {
  auto r = std::make_shared<Request>();
  r->method = "HEAD";
  r->target = "/a/rather/long/target?with=a&query=string";
  r->version = 10;
  r->headers.push_back({"User-Agent", "a user agent longer than fifteen bytes"});
  r->keep_alive = false;
  r->is_head = true;
  r->body_was_chunked = true;
  r->peer_addr = "192.168.100.200";
  r->peer_port = 1234;
  r->local_addr = "10.0.0.1";
  r->local_port = 80;
  r->tls = true;
  r->connection_id = 7;
  r->received_at = TimePoint{} + Duration{5};
  return r;
}

TEST(RequestPool, TakesNothingFromAnEmptyPool) {
  RequestPool pool;
  EXPECT_EQ(pool.take(), nullptr);
}

TEST(RequestPool, ARecycledRequestIsAFreshOneWithItsCapacity) {
  RequestPool pool;
  std::shared_ptr<Request> r = used_request();
  const Request* where = r.get();
  const std::size_t target_capacity = r->target.capacity();
  pool.give(std::move(r));
  std::shared_ptr<Request> again = pool.take();
  ASSERT_EQ(again.get(), where);
  expect_fresh(*again);
  EXPECT_EQ(again->target.capacity(), target_capacity);
  EXPECT_GE(again->headers.capacity(), 1u);
  EXPECT_EQ(pool.size(), 0u);
}

TEST(RequestPool, ARequestStillHeldElsewhereIsNotTaken) {
  RequestPool pool;
  std::shared_ptr<Request> r = used_request();
  std::shared_ptr<Request> handler_copy = r;
  pool.give(std::move(r));
  EXPECT_EQ(pool.take(), nullptr);
  EXPECT_EQ(handler_copy->method, "HEAD");  // untouched while held
  handler_copy.reset();
  EXPECT_NE(pool.take(), nullptr);
}

TEST(RequestPool, KeepsAtMostKSize) {
  RequestPool pool;
  for (std::size_t i = 0; i < RequestPool::kSize + 3; ++i) pool.give(used_request());
  EXPECT_EQ(pool.size(), RequestPool::kSize);
}

TEST(RequestPool, AGrownRequestIsNotReused) {
  RequestPool pool;
  auto big = used_request();
  big->target.assign(RequestPool::kMaxStringBytes + 1, 'x');
  pool.give(big);
  big.reset();
  EXPECT_EQ(pool.take(), nullptr);
  EXPECT_EQ(pool.size(), 0u);  // and it is gone

  auto many = used_request();
  many->headers.resize(RequestPool::kMaxHeaders + 1);
  pool.give(std::move(many));
  EXPECT_EQ(pool.take(), nullptr);
}

TEST(RequestPool, ARequestWithABodyIsNotKept) {
  RequestPool pool;
  auto r = std::make_shared<Request>();
  ASSERT_FALSE(r->body.append("x"));
  pool.give(std::move(r));
  EXPECT_EQ(pool.size(), 0u);
}

// The reader builds into a recycled request exactly what it builds into a new one.
TEST(RequestPool, TheReaderParsesIntoARecycledRequest) {
  config::HttpLimits limits;
  limits.max_header_size = 1024;
  const std::string temp_dir = "/tmp";
  RequestPool pool;
  RequestReader reader(limits, temp_dir, &pool);
  std::string first = "GET /first HTTP/1.1\r\nHost: a\r\nUser-Agent: a user agent longer than fifteen\r\n\r\n";
  std::size_t used = 0;
  ASSERT_EQ(reader.step(first, used), Step::Complete);
  std::shared_ptr<Request> req = std::move(reader.parser().request());
  const Request* where = req.get();
  pool.give(std::move(req));
  reader.reset();

  std::string second = "POST /second HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi";
  ASSERT_EQ(reader.step(second, used), Step::HeadDone);
  second.erase(0, used);
  ASSERT_EQ(reader.step(second, used), Step::Complete);
  const Request& r = *reader.parser().request();
  EXPECT_EQ(&r, where);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/second");
  EXPECT_EQ(r.version, 10);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].name, "Content-Length");
  EXPECT_EQ(r.body.memory(), "hi");
}

}  // namespace
}  // namespace hearth::http
