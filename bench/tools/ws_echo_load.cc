// hearth-ws-load: a WebSocket echo load generator for bench/run.py (the WebSocket echo row).
//
//   hearth-ws-load HOST PORT PATH [--connections N] [--seconds S] [--messages M] [--size B]
//
// Opens N connections (Beast's WebSocket client, one thread, one io_context), then on each
// connection sends a text message of B bytes, waits for its echo, and sends the next: one
// message in flight per connection, like wrk's one request per connection. The run ends
// after S seconds or when M messages in total were echoed, whichever comes first.
// Prints one line of JSON: messages echoed, seconds, messages per second, round-trip
// percentiles in milliseconds, connections opened and errors. One thread keeps the client
// to at most one of the machine's cores.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ws = beast::websocket;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string host = "127.0.0.1";
  std::string port;
  std::string path = "/";
  int connections = 64;
  double seconds = 10;
  long long max_messages = 0;  // 0: no bound but the time
  std::size_t size = 32;
};

struct Totals {
  long long messages = 0;
  long long errors = 0;
  int open = 0;
  int handshake_failed = 0;
  bool stopping = false;
  Clock::time_point stopped_at;
  std::vector<double> rtt_us;  // one per echoed message
  std::string first_error;
};

class Conn : public std::enable_shared_from_this<Conn> {
 public:
  Conn(asio::io_context& io, const Options& opt, Totals& totals)
      : ws_(io), opt_(opt), totals_(totals), payload_(opt.size, 'x') {
    ws_.set_option(ws::stream_base::timeout::suggested(beast::role_type::client));
  }

  void start(const tcp::resolver::results_type& endpoints) {
    auto self = shared_from_this();
    beast::get_lowest_layer(ws_).async_connect(endpoints,
                        [self](beast::error_code ec, const tcp::endpoint&) {
                          if (ec) return self->fail(ec, true);
                          beast::get_lowest_layer(self->ws_).socket().set_option(tcp::no_delay(true));
                          self->ws_.async_handshake(self->opt_.host + ":" + self->opt_.port, self->opt_.path,
                                                    [self](beast::error_code ec2) {
                                                      if (ec2) return self->fail(ec2, true);
                                                      ++self->totals_.open;
                                                      self->ws_.text(true);
                                                      self->send();
                                                    });
                        });
  }

  void close() {
    if (!ws_.is_open()) return;
    auto self = shared_from_this();
    ws_.async_close(ws::close_code::normal, [self](beast::error_code) {});
  }

 private:
  void send() {
    if (totals_.stopping) return close();
    auto self = shared_from_this();
    sent_at_ = Clock::now();
    ws_.async_write(asio::buffer(payload_), [self](beast::error_code ec, std::size_t) {
      if (ec) return self->fail(ec, false);
      self->ws_.async_read(self->in_, [self](beast::error_code ec2, std::size_t n) {
        if (ec2) return self->fail(ec2, false);
        auto rtt = std::chrono::duration<double, std::micro>(Clock::now() - self->sent_at_).count();
        self->in_.consume(n);
        if (n != self->payload_.size()) {
          ++self->totals_.errors;
          if (self->totals_.first_error.empty()) self->totals_.first_error = "echo of a different length";
        }
        if (!self->totals_.stopping) {
          ++self->totals_.messages;
          self->totals_.rtt_us.push_back(rtt);
          if (self->opt_.max_messages && self->totals_.messages >= self->opt_.max_messages) {
            self->totals_.stopping = true;
            self->totals_.stopped_at = Clock::now();
          }
        }
        self->send();
      });
    });
  }

  void fail(beast::error_code ec, bool handshake) {
    if (totals_.stopping && !handshake) return;
    ++totals_.errors;
    if (handshake) ++totals_.handshake_failed;
    if (totals_.first_error.empty()) totals_.first_error = ec.message();
  }

  ws::stream<beast::tcp_stream> ws_;
  const Options& opt_;
  Totals& totals_;
  std::string payload_;
  beast::flat_buffer in_;
  Clock::time_point sent_at_;
};

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::size_t k = static_cast<std::size_t>(p / 100.0 * (v.size() - 1) + 0.5);
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return v[k];
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out;
}

int usage() {
  std::fprintf(stderr,
               "usage: hearth-ws-load HOST PORT PATH [--connections N] [--seconds S] [--messages M] "
               "[--size BYTES]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) return usage();
  Options opt;
  opt.host = argv[1];
  opt.port = argv[2];
  opt.path = argv[3];
  for (int i = 4; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return usage();
    const char* v = argv[++i];
    if (a == "--connections") opt.connections = std::atoi(v);
    else if (a == "--seconds") opt.seconds = std::atof(v);
    else if (a == "--messages") opt.max_messages = std::atoll(v);
    else if (a == "--size") opt.size = static_cast<std::size_t>(std::atoll(v));
    else return usage();
  }
  if (opt.connections < 1 || opt.seconds <= 0 || opt.size < 1) return usage();

  asio::io_context io(1);
  Totals totals;
  totals.rtt_us.reserve(1 << 20);
  tcp::resolver resolver(io);
  beast::error_code ec;
  auto endpoints = resolver.resolve(opt.host, opt.port, ec);
  if (ec) {
    std::fprintf(stderr, "resolve %s:%s: %s\n", opt.host.c_str(), opt.port.c_str(), ec.message().c_str());
    return 1;
  }
  std::vector<std::shared_ptr<Conn>> conns;
  for (int i = 0; i < opt.connections; ++i) {
    conns.push_back(std::make_shared<Conn>(io, opt, totals));
    conns.back()->start(endpoints);
  }
  // The clock starts when every connection is open (or failed), so the handshakes are not
  // counted in the rate; the messages echoed before then are dropped from the figures.
  auto started = Clock::now();
  bool measuring = false;
  asio::steady_timer tick(io);
  std::function<void()> on_tick;
  Clock::time_point measure_start;
  auto deadline = std::chrono::duration<double>(opt.seconds);
  on_tick = [&]() {
    auto now = Clock::now();
    bool all_up = totals.open + totals.handshake_failed >= opt.connections;
    if (!measuring && (all_up || now - started > std::chrono::seconds(10))) {
      measuring = true;
      measure_start = now;
      totals.messages = 0;
      totals.rtt_us.clear();
    }
    bool nobody = totals.open == 0 && now - started > std::chrono::seconds(10);
    if (totals.stopping || (measuring && now - measure_start >= deadline) || nobody) {
      if (!totals.stopping) {
        totals.stopping = true;
        totals.stopped_at = now;
      }
      for (auto& c : conns) c->close();
      return;
    }
    tick.expires_after(std::chrono::milliseconds(5));
    tick.async_wait([&](beast::error_code) { on_tick(); });
  };
  tick.expires_after(std::chrono::milliseconds(1));
  tick.async_wait([&](beast::error_code) { on_tick(); });
  // The message count stops the run from inside a completion; the timer sees it within 5 ms.
  io.run_for(std::chrono::duration_cast<Clock::duration>(deadline) + std::chrono::seconds(30));
  // The close handshakes are not part of the measured time.
  auto end = totals.stopping ? totals.stopped_at : Clock::now();
  double elapsed = std::chrono::duration<double>(end - (measuring ? measure_start : started)).count();
  long long n = totals.messages;
  double p50 = percentile(totals.rtt_us, 50) / 1000.0;
  double p99 = percentile(totals.rtt_us, 99) / 1000.0;
  double mx = totals.rtt_us.empty() ? 0 : *std::max_element(totals.rtt_us.begin(), totals.rtt_us.end()) / 1000.0;
  std::printf(
      "{\"messages\": %lld, \"seconds\": %.3f, \"mps\": %.1f, \"p50\": %.3f, \"p99\": %.3f, \"max\": %.3f, "
      "\"connections\": %d, \"opened\": %d, \"errors\": %lld, \"first_error\": \"%s\"}\n",
      n, elapsed, elapsed > 0 ? n / elapsed : 0.0, p50, p99, mx, opt.connections, totals.open, totals.errors,
      json_escape(totals.first_error).c_str());
  return totals.open == 0 ? 1 : 0;
}
