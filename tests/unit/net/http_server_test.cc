// End-to-end HttpServer tests: framing, keep-alive, pipelining, bodies,
// response sink behaviour seen from a raw client.
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <chrono>
#include <stdexcept>

#include "server_fixture.h"

namespace hearth::net::testing {
namespace {

using http::Header;
using http::Request;
using http::ResponseSink;

TEST_F(ServerTest, SimpleGet) {
  start_server();
  auto r = roundtrip("GET /hello?x=1 HTTP/1.1\r\nHost: example\r\nX-Test:  spaced  \r\n\r\n");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello /hello?x=1");
  EXPECT_EQ(r.headers["content-length"], "16");
  EXPECT_EQ(r.headers["content-type"], "text/plain");
  EXPECT_EQ(r.headers["server"], "hearth");
  EXPECT_TRUE(r.headers.count("date"));
  EXPECT_FALSE(r.headers.count("connection"));
  ASSERT_EQ(handler_.requests.size(), 1u);
  const Request& req = *handler_.requests[0];
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.target, "/hello?x=1");
  EXPECT_EQ(req.version, 11);
  EXPECT_TRUE(req.keep_alive);
  ASSERT_EQ(req.headers.size(), 2u);
  EXPECT_EQ(req.headers[0].name, "Host");
  EXPECT_EQ(req.headers[1].name, "X-Test");
  EXPECT_EQ(req.headers[1].value, "spaced");
  EXPECT_EQ(req.peer_addr, "127.0.0.1");
  EXPECT_NE(req.peer_port, 0);
  EXPECT_EQ(req.local_addr, "127.0.0.1");
  EXPECT_EQ(req.local_port, port_);
  EXPECT_NE(req.connection_id, 0u);
  EXPECT_EQ(req.body.size(), 0u);
  EXPECT_NE(req.received_at, TimePoint{});
}

TEST_F(ServerTest, KeepAliveReusesConnection) {
  start_server();
  auto c = connect();
  ASSERT_TRUE(c->send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r1 = c->read_responses(1);
  ASSERT_EQ(r1.size(), 1u);
  EXPECT_EQ(r1[0].body, "hello /a");
  ASSERT_TRUE(c->send("GET /b HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r2 = c->read_responses(2);
  ASSERT_EQ(r2.size(), 2u);
  EXPECT_EQ(r2[1].body, "hello /b");
  EXPECT_FALSE(c->eof());
  ASSERT_EQ(handler_.requests.size(), 2u);
  EXPECT_EQ(handler_.requests[0]->connection_id, handler_.requests[1]->connection_id);
  EXPECT_EQ(server_->open_connections(), 1u);
}

TEST_F(ServerTest, PipelinedRequestsAnsweredInOrder) {
  start_server();
  // The first answer is delayed so a server answering out of order would show it.
  std::vector<std::shared_ptr<ResponseSink>> held;
  handler_.on_request = [&](std::shared_ptr<Request> req, std::shared_ptr<ResponseSink> sink) {
    if (req->target == "/1") {
      held.push_back(sink);
      return;
    }
    sink->simple(200, "text/plain", "r" + req->target);
  };
  auto c = connect();
  ASSERT_TRUE(c->send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n"
                      "POST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                      "GET /3 HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(run_until(io_, [&] { return held.size() == 1; }));
  // Only one request is in the handler at a time.
  EXPECT_EQ(handler_.requests.size(), 1u);
  held[0]->simple(200, "text/plain", "r/1");
  auto rs = c->read_responses(3);
  ASSERT_EQ(rs.size(), 3u);
  EXPECT_EQ(rs[0].body, "r/1");
  EXPECT_EQ(rs[1].body, "r/2");
  EXPECT_EQ(rs[2].body, "r/3");
  ASSERT_EQ(handler_.requests.size(), 3u);
  EXPECT_EQ(handler_.requests[1]->body.memory(), "abc");
}

TEST_F(ServerTest, ChunkedBodyIsDecoded) {
  start_server();
  auto r = roundtrip(
      "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n");
  EXPECT_EQ(r.status, 200);
  ASSERT_EQ(handler_.requests.size(), 1u);
  const Request& req = *handler_.requests[0];
  EXPECT_TRUE(req.body_was_chunked);
  EXPECT_EQ(req.body.size(), 11u);
  EXPECT_EQ(req.body.memory(), "hello world");
  // Trailers are not request headers.
  for (const auto& h : req.headers) EXPECT_NE(h.name, "X-Trailer");
}

TEST_F(ServerTest, LargeBodySpillsToFileAndArrivesComplete) {
  config::HttpLimits limits;
  limits.body_buffer_size = 1024;
  start_server(limits);
  std::string body;
  for (int i = 0; i < 200000; ++i) body.push_back(static_cast<char>('a' + i % 26));
  auto c = connect();
  ASSERT_TRUE(c->send("PUT /big HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
                      "\r\n\r\n" + body));
  auto rs = c->read_responses(1);
  ASSERT_EQ(rs.size(), 1u);
  ASSERT_EQ(handler_.requests.size(), 1u);
  const auto& spool = handler_.requests[0]->body;
  EXPECT_FALSE(spool.in_memory());
  ASSERT_EQ(spool.size(), body.size());
  std::string back(body.size(), '\0');
  EXPECT_EQ(spool.read_at(0, back.data(), back.size()), static_cast<long>(body.size()));
  EXPECT_EQ(back, body);
}

TEST_F(ServerTest, ByteByByteDeliveryParsesTheSame) {
  start_server();
  const std::string raw =
      "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n4;x=y\r\ndefg\r\n0\r\n\r\n"
      "POST /l HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
      "GET /g HTTP/1.1\r\nHost: x\r\n\r\n";
  auto c = connect();
  for (char ch : raw) {
    ASSERT_TRUE(c->send(std::string_view(&ch, 1)));
    io_.poll();
  }
  auto rs = c->read_responses(3);
  ASSERT_EQ(rs.size(), 3u) << c->received();
  EXPECT_EQ(rs[2].body, "hello /g");
  ASSERT_EQ(handler_.requests.size(), 3u);
  EXPECT_EQ(handler_.requests[0]->body.memory(), "abcdefg");
  EXPECT_EQ(handler_.requests[1]->body.memory(), "hello");
}

TEST_F(ServerTest, GarbageNeverCrashesAndServerKeepsServing) {
  config::HttpLimits limits;
  limits.max_header_size = 2048;
  limits.max_body_size = 4096;
  limits.header_timeout = std::chrono::milliseconds(200);
  limits.body_timeout = std::chrono::milliseconds(200);
  start_server(limits);
  const std::string seeds[] = {
      "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
  };
  uint32_t rng = 12345;
  auto next = [&] {
    rng = rng * 1103515245u + 12345u;
    return (rng >> 16) & 0x7fff;
  };
  for (int i = 0; i < 300; ++i) {
    std::string raw = seeds[i % 3];
    int edits = 1 + static_cast<int>(next() % 4);
    for (int e = 0; e < edits; ++e) {
      std::size_t pos = next() % raw.size();
      switch (next() % 3) {
        case 0: raw[pos] = static_cast<char>(next() & 0xff); break;
        case 1: raw.erase(pos, 1 + next() % 3); break;
        default: raw.insert(pos, 1 + next() % 3, static_cast<char>(next() & 0xff)); break;
      }
      if (raw.empty()) raw = "x";
    }
    auto c = connect();
    ASSERT_TRUE(c->send(raw));
    // Whatever happens, the server answers or closes within the timeouts.
    run_until(io_, [&] { c->poll(); return c->eof() || c->received().find("\r\n\r\n") != std::string::npos; },
              std::chrono::milliseconds(2000));
    if (!c->received().empty()) {
      EXPECT_EQ(c->received().rfind("HTTP/1.1 ", 0), 0u) << c->received();
    }
  }
  // Still healthy.
  EXPECT_EQ(roundtrip("GET /alive HTTP/1.1\r\nHost: x\r\n\r\n").body, "hello /alive");
}

TEST_F(ServerTest, HeadSendsHeadersButNoBody) {
  start_server();
  auto c = connect();
  ASSERT_TRUE(c->send("HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto rs = c->read_responses(1, /*head_request=*/true);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].headers["content-length"], "8");  // "hello /h"
  EXPECT_TRUE(handler_.requests[0]->is_head);
  // No body bytes follow: the next response starts right after the head.
  ASSERT_TRUE(c->send("GET /g HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(c->wait_for("hello /g"));
  std::size_t used = 0;
  auto first = parse_response(c->received(), &used, true);
  ASSERT_TRUE(first);
  EXPECT_EQ(c->received().substr(used, 9), "HTTP/1.1 ");
}

TEST_F(ServerTest, ExpectContinue) {
  start_server();
  auto c = connect();
  ASSERT_TRUE(c->send("POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"));
  ASSERT_TRUE(c->wait_for("HTTP/1.1 100 Continue\r\n\r\n"));
  EXPECT_TRUE(handler_.requests.empty());
  ASSERT_TRUE(c->send("data"));
  ASSERT_TRUE(c->wait_for("hello /e"));
  ASSERT_EQ(handler_.requests.size(), 1u);
  EXPECT_EQ(handler_.requests[0]->body.memory(), "data");
  EXPECT_EQ(c->received().rfind("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", 0), 0u);
}

TEST_F(ServerTest, ExpectContinueOverLimitGets413WithoutContinue) {
  config::HttpLimits limits;
  limits.max_body_size = 10;
  start_server(limits);
  auto c = connect();
  ASSERT_TRUE(c->send("POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n"));
  auto rs = c->read_responses(1);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status, 413);
  EXPECT_EQ(c->received().find("100 Continue"), std::string::npos);
  EXPECT_TRUE(c->wait_closed());
  EXPECT_TRUE(handler_.requests.empty());
}

TEST_F(ServerTest, Http10WithoutLengthIsCloseDelimited) {
  start_server();
  handler_.on_request = [](std::shared_ptr<Request>, std::shared_ptr<ResponseSink> sink) {
    sink->start(200, "", {{"Content-Type", "text/plain"}});
    sink->body("old ");
    sink->body("client");
    sink->finish(true);
  };
  auto c = connect();
  ASSERT_TRUE(c->send("GET / HTTP/1.0\r\n\r\n"));
  ASSERT_TRUE(c->wait_closed());
  std::size_t used = 0;
  auto r = parse_response(c->received(), &used, false, true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "old client");
  EXPECT_EQ(r->headers["connection"], "close");
  EXPECT_FALSE(r->headers.count("transfer-encoding"));
  EXPECT_FALSE(handler_.requests[0]->keep_alive);
  EXPECT_EQ(handler_.requests[0]->version, 10);
}

TEST_F(ServerTest, Http10KeepAliveWhenAsked) {
  start_server();
  auto c = connect();
  ASSERT_TRUE(c->send("GET /k HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  auto rs = c->read_responses(1);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].headers["connection"], "keep-alive");
  ASSERT_TRUE(c->send("GET /k2 HTTP/1.0\r\n\r\n"));
  rs = c->read_responses(2);
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[1].headers["connection"], "close");
  EXPECT_TRUE(c->wait_closed());
}

TEST_F(ServerTest, ConnectionCloseRequestClosesAfterResponse) {
  start_server();
  auto c = connect();
  ASSERT_TRUE(c->send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  auto rs = c->read_responses(1);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].headers["connection"], "close");
  EXPECT_TRUE(c->wait_closed());
}

TEST_F(ServerTest, StreamingChunkedResponse) {
  start_server();
  handler_.on_request = [](std::shared_ptr<Request>, std::shared_ptr<ResponseSink> sink) {
    sink->start(200, "OK", {{"Content-Type", "text/plain"},
                            {"Connection", "keep-alive"},
                            {"Transfer-Encoding", "chunked"},
                            {"Keep-Alive", "timeout=5"},
                            {"Server", "app/1.0"}});
    sink->body("one,");
    sink->body("");
    sink->body("two,");
    sink->body("three");
    sink->finish(true);
  };
  auto c = connect();
  ASSERT_TRUE(c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto rs = c->read_responses(1);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_TRUE(rs[0].chunked);
  EXPECT_TRUE(rs[0].complete_chunked);
  EXPECT_EQ(rs[0].body, "one,two,three");
  EXPECT_EQ(rs[0].headers["server"], "app/1.0");
  EXPECT_FALSE(rs[0].headers.count("keep-alive"));
  EXPECT_FALSE(rs[0].headers.count("connection"));
  // Exactly one Transfer-Encoding line (the app's was dropped).
  auto first = rs[0].head.find("Transfer-Encoding");
  EXPECT_EQ(rs[0].head.find("Transfer-Encoding", first + 1), std::string::npos);
}

TEST_F(ServerTest, ContentLengthResponseKeepsAlive) {
  start_server();
  handler_.on_request = [](std::shared_ptr<Request>, std::shared_ptr<ResponseSink> sink) {
    sink->start(201, "", {{"Content-Length", "6"}});
    sink->body("abc");
    sink->body("def");
    sink->finish(true);
  };
  auto c = connect();
  ASSERT_TRUE(c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto rs = c->read_responses(2);
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[0].status, 201);
  EXPECT_EQ(rs[0].head.rfind("HTTP/1.1 201 Created\r\n", 0), 0u);
  EXPECT_EQ(rs[0].body, "abcdef");
  EXPECT_FALSE(rs[0].chunked);
  EXPECT_FALSE(c->eof());
}

TEST_F(ServerTest, ShortContentLengthClosesConnection) {
  start_server();
  handler_.on_request = [](std::shared_ptr<Request>, std::shared_ptr<ResponseSink> sink) {
    sink->start(200, "", {{"Content-Length", "10"}});
    sink->body("abc");
    sink->finish(true);
  };
  auto c = connect();
  ASSERT_TRUE(c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(c->wait_closed());
  EXPECT_NE(c->received().find("\r\n\r\nabc"), std::string::npos);
}

TEST_F(ServerTest, LongContentLengthIsTruncatedAndCloses) {
  start_server();
  handler_.on_request = [](std::shared_ptr<Request>, std::shared_ptr<ResponseSink> sink) {
    sink->start(200, "", {{"Content-Length", "3"}});
    sink->body("abcdef");
    sink->finish(true);
  };
  auto c = connect();
  ASSERT_TRUE(c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(c->wait_closed());
  const std::string& got = c->received();
  EXPECT_EQ(got.substr(got.size() - 7), "\r\n\r\nabc");
}

TEST_F(ServerTest, FinishFalseMidResponseClosesWithoutLastChunk) {
  start_server();
  handler_.on_request = [](std::shared_ptr<Request>, std::shared_ptr<ResponseSink> sink) {
    sink->start(200, "", {});
    sink->body("partial");
    sink->finish(false);
  };
  auto c = connect();
  ASSERT_TRUE(c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(c->wait_closed());
  EXPECT_NE(c->received().find("7\r\npartial\r\n"), std::string::npos);
  EXPECT_EQ(c->received().find("0\r\n\r\n"), std::string::npos);
}

TEST_F(ServerTest, AsyncHandlerFinishesLater) {
  start_server();
  handler_.on_request = [&](std::shared_ptr<Request> req, std::shared_ptr<ResponseSink> sink) {
    boost::asio::post(io_, [this, sink] {
      sink->start(200, "", {{"Content-Type", "text/plain"}});
      sink->body("later");
      boost::asio::post(io_, [sink] { sink->finish(true); });
    });
  };
  auto c = connect();
  ASSERT_TRUE(c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto rs = c->read_responses(1);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].body, "later");
  EXPECT_TRUE(rs[0].complete_chunked);
}

TEST_F(ServerTest, ThrowingHandlerGets500) {
  start_server();
  handler_.on_request = [](std::shared_ptr<Request>, std::shared_ptr<ResponseSink>) {
    throw std::runtime_error("boom");
  };
  auto r = roundtrip("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(r.status, 500);
}

TEST_F(ServerTest, BusyWhileHandlerRunsAndClientGoneIsReported) {
  start_server();
  std::shared_ptr<ResponseSink> held;
  handler_.on_request = [&](std::shared_ptr<Request>, std::shared_ptr<ResponseSink> sink) { held = sink; };
  auto c = connect();
  ASSERT_TRUE(c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(run_until(io_, [&] { return held != nullptr; }));
  EXPECT_EQ(server_->busy_connections(), 1u);
  EXPECT_EQ(server_->open_connections(), 1u);
  EXPECT_FALSE(held->client_gone());
  c->close();
  ASSERT_TRUE(run_until(io_, [&] { return held->client_gone(); }));
  EXPECT_EQ(server_->open_connections(), 0u);
  // The handler still finishes; everything is ignored.
  held->start(200, "", {});
  held->body("x");
  held->finish(true);
  EXPECT_TRUE(run_until(io_, [&] { return server_->busy_connections() == 0; }));
}

TEST_F(ServerTest, SlowReaderDoesNotBlockBodyCalls) {
  config::HttpLimits limits;
  limits.response_buffer_size = 256 * 1024;  // beyond this the sink spills to a temp file
  start_server(limits);
  const std::size_t kChunk = 64 * 1024;
  const std::size_t kChunks = 128;  // 8 MiB
  std::string chunk(kChunk, 'z');
  std::chrono::steady_clock::duration spent{};
  bool finished = false;
  handler_.on_request = [&](std::shared_ptr<Request>, std::shared_ptr<ResponseSink> sink) {
    auto t0 = std::chrono::steady_clock::now();
    sink->start(200, "", {{"Content-Length", std::to_string(kChunk * kChunks)}});
    for (std::size_t i = 0; i < kChunks; ++i) sink->body(chunk);
    sink->finish(true);
    spent = std::chrono::steady_clock::now() - t0;
    finished = true;
  };
  auto c = std::make_unique<TestClient>(io_, port_, /*rcvbuf=*/4096);
  ASSERT_TRUE(c->connected());
  ASSERT_TRUE(c->send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
  // Nobody reads yet: the handler must still have finished.
  ASSERT_TRUE(run_until(io_, [&] { return finished; }));
  EXPECT_LT(spent, std::chrono::seconds(2));
  EXPECT_EQ(server_->busy_connections(), 1u);  // still writing
  auto rs = c->read_responses(1, false, std::chrono::milliseconds(20000));
  ASSERT_EQ(rs.size(), 1u) << "received " << c->received().size() << " bytes";
  EXPECT_EQ(rs[0].body.size(), kChunk * kChunks);
  EXPECT_EQ(rs[0].body.find_first_not_of('z'), std::string::npos);
  EXPECT_TRUE(run_until(io_, [&] { return server_->busy_connections() == 0; }));
  EXPECT_FALSE(c->eof());
}

TEST_F(ServerTest, SendTimeoutClosesStalledClient) {
  config::HttpLimits limits;
  limits.send_timeout = std::chrono::milliseconds(200);
  start_server(limits);
  handler_.on_request = [&](std::shared_ptr<Request>, std::shared_ptr<ResponseSink> sink) {
    sink->start(200, "", {{"Content-Length", std::to_string(8 << 20)}});
    std::string chunk(64 * 1024, 'q');
    for (int i = 0; i < 128; ++i) sink->body(chunk);
    sink->finish(true);
  };
  auto c = std::make_unique<TestClient>(io_, port_, /*rcvbuf=*/4096);
  ASSERT_TRUE(c->connected());
  ASSERT_TRUE(c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(run_until(io_, [&] { return handler_.requests.size() == 1; }));
  // The client never reads: the write stalls and the server gives up.
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(run_until(io_, [&] { return server_->open_connections() == 0; }));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(150));
}

TEST_F(ServerTest, CloseIdleClosesIdleKeepsBusyUntilDone) {
  start_server();
  std::shared_ptr<ResponseSink> held;
  handler_.on_request = [&](std::shared_ptr<Request> req, std::shared_ptr<ResponseSink> sink) {
    if (req->target == "/hold") {
      held = sink;
      return;
    }
    sink->simple(200, "text/plain", "ok");
  };
  auto idle = connect();
  ASSERT_TRUE(idle->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_EQ(idle->read_responses(1).size(), 1u);
  auto busy = connect();
  ASSERT_TRUE(busy->send("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(run_until(io_, [&] { return held != nullptr; }));
  EXPECT_EQ(server_->open_connections(), 2u);

  server_->stop_accepting();
  server_->close_idle();
  EXPECT_TRUE(idle->wait_closed());
  EXPECT_EQ(server_->open_connections(), 1u);
  EXPECT_FALSE(busy->eof());
  held->simple(200, "text/plain", "done");
  auto rs = busy->read_responses(1);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].body, "done");
  EXPECT_EQ(rs[0].headers["connection"], "close");
  EXPECT_TRUE(busy->wait_closed());
  EXPECT_TRUE(run_until(io_, [&] { return server_->open_connections() == 0; }));
}

TEST_F(ServerTest, ConnectionAcceptedAfterTheDrainBeganIsServedWithClose) {
  // A connection whose accept completes after close_idle() (its completion was queued
  // before the listener closed) gets the first-request grace: busy() holds the drain
  // until its request is answered, with Connection: close.
  start_server();
  handler_.on_request = [&](std::shared_ptr<Request>, std::shared_ptr<ResponseSink> sink) {
    sink->simple(200, "text/plain", "late");
  };
  server_->close_idle();
  auto late = connect();
  ASSERT_TRUE(run_until(io_, [&] { return server_->open_connections() == 1; }));
  EXPECT_EQ(server_->busy_connections(), 1u);
  ASSERT_TRUE(late->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto rs = late->read_responses(1);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].body, "late");
  EXPECT_EQ(rs[0].headers["connection"], "close");
  EXPECT_TRUE(late->wait_closed());
  EXPECT_TRUE(run_until(io_, [&] { return server_->busy_connections() == 0; }));
}

TEST_F(ServerTest, CloseAllAbortsEverything) {
  start_server();
  std::shared_ptr<ResponseSink> held;
  handler_.on_request = [&](std::shared_ptr<Request>, std::shared_ptr<ResponseSink> sink) { held = sink; };
  auto c = connect();
  ASSERT_TRUE(c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(run_until(io_, [&] { return held != nullptr; }));
  server_->close_all();
  EXPECT_EQ(server_->open_connections(), 0u);
  EXPECT_TRUE(held->client_gone());
  EXPECT_TRUE(c->wait_closed());
  held->finish(false);
}

TEST_F(ServerTest, KeepaliveTimeoutClosesSilently) {
  config::HttpLimits limits;
  limits.keepalive_timeout = std::chrono::milliseconds(100);
  start_server(limits);
  auto c = connect();
  ASSERT_TRUE(c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_EQ(c->read_responses(1).size(), 1u);
  std::size_t before = c->received().size();
  EXPECT_TRUE(c->wait_closed(std::chrono::milliseconds(3000)));
  EXPECT_EQ(c->received().size(), before);
  EXPECT_TRUE(run_until(io_, [&] { return server_->open_connections() == 0; }));
}

TEST_F(ServerTest, BodySpoolFailureAnswers500ThenContinues) {
  config::HttpLimits limits;
  limits.body_buffer_size = 4;
  start_server(limits, "/nonexistent-hearth-dir/sub");
  auto c = connect();
  ASSERT_TRUE(c->send("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789"
                      "GET /next HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto rs = c->read_responses(2);
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[0].status, 500);
  EXPECT_EQ(rs[1].status, 200);
  EXPECT_EQ(rs[1].body, "hello /next");
  ASSERT_EQ(handler_.requests.size(), 1u);  // the failed one never reached the handler
}

TEST_F(ServerTest, UnixSocketListener) {
  char dir_template[] = "/tmp/hearth-net-test-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  std::string path = std::string(dir_template) + "/s.sock";
  server_ = std::make_unique<HttpServer>(io_, config::HttpLimits{}, "", handler_, "http");
  config::Bind bind;
  bind.kind = config::Bind::Kind::Unix;
  bind.path = path;
  server_->listen(bind);
  server_->start();
  EXPECT_EQ(server_->bound_urls()[0], "unix:" + path);
  {
    TestClient c(io_, path);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.send("GET /u HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto rs = c.read_responses(1);
    ASSERT_EQ(rs.size(), 1u);
    EXPECT_EQ(rs[0].body, "hello /u");
    EXPECT_EQ(handler_.requests[0]->peer_addr, "");
  }
  // A second server on the same live path fails; after the first is gone the stale file is reused.
  HttpServer other(io_, config::HttpLimits{}, "", handler_, "http2");
  EXPECT_THROW(other.listen(bind), std::runtime_error);
  server_.reset();
  HttpServer again(io_, config::HttpLimits{}, "", handler_, "http3");
  EXPECT_NO_THROW(again.listen(bind));
  ::unlink(path.c_str());
  ::rmdir(dir_template);
}

TEST_F(ServerTest, DualStackListenerReportsIpv4Peers) {
  server_ = std::make_unique<HttpServer>(io_, config::HttpLimits{}, "", handler_, "http");
  config::Bind bind;
  bind.host = "::";
  bind.port = 0;
  try {
    server_->listen(bind);
  } catch (const std::runtime_error& e) {
    GTEST_SKIP() << "no IPv6 here: " << e.what();
  }
  server_->start();
  const std::string url = server_->bound_urls()[0];
  ASSERT_EQ(url.rfind("http://[::]:", 0), 0u) << url;
  port_ = static_cast<uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
  auto r = roundtrip("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(r.status, 200);
  ASSERT_EQ(handler_.requests.size(), 1u);
  EXPECT_EQ(handler_.requests[0]->peer_addr, "127.0.0.1");
  EXPECT_EQ(handler_.requests[0]->local_addr, "127.0.0.1");
}

TEST_F(ServerTest, ListenOnBusyPortThrowsClearMessage) {
  start_server();
  HttpServer other(io_, config::HttpLimits{}, "", handler_, "http2");
  config::Bind bind;
  bind.host = "127.0.0.1";
  bind.port = port_;
  bind.text = "127.0.0.1:" + std::to_string(port_);
  try {
    other.listen(bind);
    FAIL() << "expected a throw";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("bind 127.0.0.1:"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace hearth::net::testing
