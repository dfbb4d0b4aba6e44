#include "upstream/probe.h"

#include <boost/asio/buffers_iterator.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <memory>

namespace hearth::upstream {

namespace asio = boost::asio;

int status_of_line(std::string_view line) {
  if (line.substr(0, 5) != "HTTP/") return 0;
  std::size_t sp = line.find(' ');
  if (sp == std::string_view::npos || line.size() < sp + 4) return 0;
  int code = 0;
  for (std::size_t i = sp + 1; i < sp + 4; ++i) {
    char c = line[i];
    if (c < '0' || c > '9') return 0;
    code = code * 10 + (c - '0');
  }
  return code;
}

namespace {

struct Check : std::enable_shared_from_this<Check> {
  Check(asio::io_context& io, ProbeDone d) : sock(io), timer(io), done(std::move(d)) {}
  Socket sock;
  asio::steady_timer timer;
  ProbeDone done;
  std::string request;
  asio::streambuf buf;
  bool finished = false;

  void finish(bool ok, const std::string& detail) {
    if (finished) return;
    finished = true;
    timer.cancel();
    boost::system::error_code ec;
    sock.close(ec);
    auto d = std::move(done);
    d(ok, detail);
  }
};

}  // namespace

void probe(asio::io_context& io, const Server& server, const std::string& path, std::chrono::milliseconds timeout,
           ProbeDone done) {
  auto c = std::make_shared<Check>(io, std::move(done));
  if (!path.empty()) {
    c->request = "GET " + path + " HTTP/1.1\r\nHost: " + server.host +
                 "\r\nUser-Agent: hearth-health\r\nConnection: close\r\n\r\n";
  }
  c->timer.expires_after(timeout);
  c->timer.async_wait([c](const boost::system::error_code& ec) {
    if (!ec) c->finish(false, "timed out");
  });
  boost::system::error_code ec;
  c->sock.open(server.endpoint.protocol(), ec);
  if (ec) return c->finish(false, "socket: " + ec.message());
  c->sock.async_connect(server.endpoint, [c](const boost::system::error_code& ec) {
    if (c->finished) return;
    if (ec) return c->finish(false, "connect: " + ec.message());
    if (c->request.empty()) return c->finish(true, "");
    asio::async_write(c->sock, asio::buffer(c->request), [c](const boost::system::error_code& ec, std::size_t) {
      if (c->finished) return;
      if (ec) return c->finish(false, "write: " + ec.message());
      asio::async_read_until(c->sock, c->buf, "\r\n", [c](const boost::system::error_code& ec, std::size_t n) {
        if (c->finished) return;
        if (ec) return c->finish(false, "read: " + ec.message());
        std::string line(asio::buffers_begin(c->buf.data()), asio::buffers_begin(c->buf.data()) + n);
        int status = status_of_line(line);
        if (status >= 200 && status < 400) return c->finish(true, "");
        c->finish(false, status ? "status " + std::to_string(status) : "not an HTTP response");
      });
    });
  });
}

}  // namespace hearth::upstream
