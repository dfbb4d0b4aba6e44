#include "upstream/upstream_handler.h"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <optional>

#include "common/ascii.h"
#include "common/log.h"
#include "http/hop_by_hop.h"
#include "proxy/environ.h"
#include "upstream/request_head.h"
#include "upstream/ws_tunnel.h"

namespace hearth::upstream {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

bool is_idempotent(std::string_view m) {
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "PUT" || m == "DELETE" || m == "TRACE";
}

class UpstreamHandler::Exchange final : public std::enable_shared_from_this<Exchange>,
                                        private http::ClientGoneListener {
 public:
  Exchange(asio::io_context& io, const Options& o, const ClockSource& clock, std::shared_ptr<Backend> backend,
           std::shared_ptr<Live> live, std::shared_ptr<http::Request> req, std::shared_ptr<http::ResponseSink> sink,
           std::string request_id)
      : o_(o), clock_(clock), backend_(std::move(backend)), live_(std::move(live)), req_(std::move(req)),
        sink_(std::move(sink)), request_id_(std::move(request_id)), sock_(io), timer_(io),
        target_(upstream_target(req_->target, o_.prefix, o_.strip_prefix)) {}
  ~Exchange() { live_->erase(this); }

  void start() {
    live_->insert(this);
    backend_->begin_request();
    sink_->watch_client(this);
    do_pick();
  }
  void abort() { abort_response(); }

 private:
  // What went wrong with a server before any response byte came back.
  enum class Failure {
    Connect,  // refused, unreachable, connect_timeout
    Early,    // reset or closed after the request was (partly) sent, before a response byte
  };

  void do_pick() {
    auto i = backend_->set().pick(clock_.now(), tried_);
    if (!i) return fail(502, "Bad Gateway: no server of upstream " + o_.name + " answered\n");
    server_ = *i;
    tried_ |= std::uint64_t{1} << server_;
    if (auto s = backend_->take_idle(server_)) {
      sock_ = std::move(*s);
      reused_ = true;
      return do_send();
    }
    reused_ = false;
    do_connect();
  }

  void do_connect() {
    const Server& s = backend_->servers()[server_];
    boost::system::error_code ec;
    sock_ = Socket(sock_.get_executor());
    sock_.open(s.endpoint.protocol(), ec);
    if (ec) return on_server_failed(Failure::Connect, "socket: " + ec.message());
    arm(o_.connect_timeout);
    sock_.async_connect(s.endpoint, [self = shared_from_this()](const boost::system::error_code& ec) {
      self->on_connect(ec);
    });
  }

  void on_connect(const boost::system::error_code& ec) {
    if (done_) return;
    if (sink_->client_gone()) return abort_response();  // on_client_gone() cancelled the I/O
    if (timed_out_) return on_server_failed(Failure::Connect, "connect timed out");
    if (ec) return on_server_failed(Failure::Connect, "connect: " + ec.message());
    do_send();
  }

  void do_send() {
    const Server& s = backend_->servers()[server_];
    HeadOptions ho;
    ho.target = target_;
    ho.default_host = s.host;
    ho.body_size = req_->body.size();
    ho.request_id = request_id_;
    head_ = build_request_head(*req_, ho);
    body_off_ = 0;
    sink_->dispatched();
    arm(o_.timeout);
    std::vector<asio::const_buffer> bufs{asio::buffer(head_)};
    if (req_->body.in_memory() && req_->body.size() > 0) {
      bufs.push_back(asio::buffer(req_->body.memory().data(), req_->body.memory().size()));
      body_off_ = req_->body.size();
    }
    asio::async_write(sock_, bufs, [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
      self->on_sent(ec);
    });
  }

  // A spooled body goes in 64 KiB pieces.
  void on_sent(const boost::system::error_code& ec) {
    if (done_) return;
    if (sink_->client_gone()) return abort_response();  // on_client_gone() cancelled the I/O
    if (ec) return on_early_error(ec, "write");
    if (body_off_ < req_->body.size()) {
      chunk_out_.resize(64 * 1024);
      long n = req_->body.read_at(body_off_, chunk_out_.data(), chunk_out_.size());
      if (n <= 0) return fail(500, "Internal Server Error: the request body could not be read back\n");
      body_off_ += static_cast<uint64_t>(n);
      asio::async_write(sock_, asio::buffer(chunk_out_.data(), static_cast<std::size_t>(n)),
                        [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                          self->on_sent(ec);
                        });
      return;
    }
    do_read_head();
  }

  void do_read_head() {
    parser_.emplace();
    parser_->body_limit(boost::none);
    parser_->header_limit(64 * 1024);
    if (req_->is_head || req_->method == "HEAD") parser_->skip(true);
    bhttp::async_read_header(sock_, buf_, *parser_,
                             [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                               self->on_head(ec, n);
                             });
  }

  void on_head(const boost::system::error_code& ec, std::size_t) {
    if (done_) return;
    if (sink_->client_gone()) return abort_response();  // on_client_gone() cancelled the I/O
    if (timed_out_) return fail(504, "Gateway Timeout: upstream " + o_.name + " did not answer in time\n");
    if (ec) {
      if (buf_.size() == 0 && !got_bytes_) return on_early_error(ec, "read");
      return fail(502, "Bad Gateway: upstream " + o_.name + " sent a malformed response\n",
                  "bad response: " + ec.message());
    }
    got_bytes_ = true;
    auto& res = parser_->get();
    int status = static_cast<int>(res.result_int());
    if (status >= 100 && status < 200 && status != 101) return do_read_head();  // interim: 100 Continue, 103
    backend_->set().on_success(server_);
    std::vector<http::Header> headers;
    bool streaming = !res.has_content_length();
    for (const auto& f : res) {
      std::string_view name = f.name_string(), value = f.value();
      if (http::is_hop_by_hop(name)) continue;
      if (ascii::iequals(name, "content-type") && value.substr(0, 17) == "text/event-stream") streaming = true;
      if (ascii::iequals(name, "x-accel-buffering") && ascii::iequals(value, "no")) streaming = true;
      headers.push_back(http::Header{std::string(name), std::string(value)});
    }
    if (streaming && !parser_->is_done()) sink_->set_streaming();
    sink_->start(status, res.reason(), std::move(headers));
    started_ = true;
    if (parser_->is_done()) return complete();
    do_read_body();
  }

  void do_read_body() {
    if (done_) return;
    if (sink_->client_gone()) return abort_response();
    if (sink_->full()) {
      timer_.cancel();  // a slow client is not the upstream's fault
      sink_->when_writable([self = shared_from_this()] { self->do_read_body(); });
      return;
    }
    arm(o_.timeout);
    auto& body = parser_->get().body();
    body.data = chunk_in_;
    body.size = sizeof chunk_in_;
    bhttp::async_read_some(sock_, buf_, *parser_,
                           [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                             self->on_body(ec);
                           });
  }

  void on_body(boost::system::error_code ec) {
    if (done_) return;
    if (ec == bhttp::error::need_buffer) ec = {};
    std::size_t produced = sizeof chunk_in_ - parser_->get().body().size;
    if (produced > 0 && !sink_->client_gone()) sink_->body(std::string_view(chunk_in_, produced));
    if (ec || timed_out_) {
      HLOG_CTX(Warn, o_.name, "response from " << backend_->servers()[server_].label << " cut short: "
                                               << (timed_out_ ? std::string("timed out") : ec.message()));
      return abort_response();
    }
    if (parser_->is_done()) return complete();
    do_read_body();
  }

  void complete() {
    timer_.cancel();
    bool keep = parser_->keep_alive() && !timed_out_;
    if (keep) {
      backend_->put_idle(server_, std::move(sock_));
    } else {
      boost::system::error_code ignored;
      sock_.close(ignored);
    }
    end(true);
  }

  void abort_response() {
    boost::system::error_code ignored;
    sock_.close(ignored);
    end(false);
  }

  // Before any response byte: a stale kept connection is retried on a new
  // one; otherwise the server is ejected and, when the method allows it, the
  // next one is tried.
  void on_early_error(const boost::system::error_code& ec, const char* step) {
    if (timed_out_) return fail(504, "Gateway Timeout: upstream " + o_.name + " did not answer in time\n");
    if (reused_ && is_idempotent(req_->method)) {
      reused_ = false;
      return do_connect();
    }
    on_server_failed(Failure::Early, std::string(step) + ": " + ec.message());
  }

  void on_server_failed(Failure f, const std::string& why) {
    timer_.cancel();
    boost::system::error_code ignored;
    sock_.close(ignored);
    timed_out_ = false;
    const Server& s = backend_->servers()[server_];
    backend_->set().on_failure(server_, clock_.now());
    HLOG_CTX(Warn, o_.name, "server " << s.label << " failed (" << why << "); ejected for a few seconds");
    if (f == Failure::Connect || is_idempotent(req_->method)) return do_pick();
    fail(502, "Bad Gateway: upstream " + o_.name + " closed the connection\n");
  }

  void fail(int status, const std::string& text, const std::string& log = "") {
    timer_.cancel();
    boost::system::error_code ignored;
    sock_.close(ignored);
    if (!log.empty()) HLOG_CTX(Warn, o_.name, log);
    if (started_) return end(false);
    if (!sink_->client_gone()) sink_->simple(status, "text/plain", text);
    end_after_simple();
  }

  void end(bool ok) {
    if (done_) return;
    done_ = true;
    live_->erase(this);
    sink_->watch_client(nullptr);
    sink_->finish(ok);
    backend_->end_request();
  }
  void end_after_simple() {  // simple() finished the sink itself
    if (done_) return;
    done_ = true;
    live_->erase(this);
    sink_->watch_client(nullptr);
    if (sink_->client_gone()) sink_->finish(false);
    backend_->end_request();
  }

  void arm(std::chrono::milliseconds d) {
    timed_out_ = false;
    timer_.expires_after(d);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->done_) return;
      self->timed_out_ = true;
      boost::system::error_code ignored;
      self->sock_.cancel(ignored);
    });
  }

  void on_client_gone() override {
    // From the connection's close path: only stop the I/O here; the aborted
    // operation's handler ends the exchange.
    boost::system::error_code ignored;
    sock_.cancel(ignored);
    timer_.cancel();
  }

  Options o_;
  const ClockSource& clock_;
  std::shared_ptr<Backend> backend_;
  std::shared_ptr<Live> live_;
  std::shared_ptr<http::Request> req_;
  std::shared_ptr<http::ResponseSink> sink_;
  std::string request_id_;
  Socket sock_;
  asio::steady_timer timer_;
  std::string target_;
  std::string head_;
  std::string chunk_out_;
  uint64_t body_off_ = 0;
  beast::flat_buffer buf_;
  std::optional<bhttp::response_parser<bhttp::buffer_body>> parser_;
  char chunk_in_[16384];
  std::size_t server_ = 0;
  std::uint64_t tried_ = 0;
  bool reused_ = false;
  bool got_bytes_ = false;
  bool started_ = false;
  bool timed_out_ = false;
  bool done_ = false;
};

UpstreamHandler::UpstreamHandler(asio::io_context& io, Options options, proxy::RequestObserver* observer,
                                 const ClockSource& clock)
    : io_(io), options_(std::move(options)), observer_(observer), clock_(clock) {}

void UpstreamHandler::handle(std::shared_ptr<http::Request> request, std::shared_ptr<http::ResponseSink> sink) {
  ++requests_;
  std::string id = proxy::request_id_for(*request, ids_.make(requests_));
  if (observer_ || options_.via) {
    proxy::ObservedSink::Options o;
    if (options_.via) o.via = "1.1 hearth";
    sink = std::make_shared<proxy::ObservedSink>(std::move(sink), request, id, observer_, clock_, std::move(o));
  }
  if (!backend_) {
    sink->simple(503, "text/plain", "Service Unavailable: upstream " + options_.name + " is not running\n",
                 {{"Retry-After", "5"}});
    return;
  }
  if (request->websocket) {
    WsTunnel::Params p;
    p.name = options_.name;
    p.target = upstream_target(request->target, options_.prefix, options_.strip_prefix);
    p.timeout = options_.timeout;
    p.connect_timeout = options_.connect_timeout;
    p.max_message_size = options_.ws_max_message_size;
    std::make_shared<WsTunnel>(io_, std::move(p), clock_, backend_, tunnels_, std::move(request), std::move(sink),
                               std::move(id))
        ->start();
    return;
  }
  std::make_shared<Exchange>(io_, options_, clock_, backend_, live_, std::move(request), std::move(sink),
                             std::move(id))
      ->start();
}

std::size_t UpstreamHandler::in_flight() const { return live_->size() + tunnels_->size(); }

void UpstreamHandler::close_websockets() {
  std::vector<std::shared_ptr<WsTunnel>> tunnels;
  for (WsTunnel* t : *tunnels_) tunnels.push_back(t->shared_from_this());
  for (auto& t : tunnels) t->go_away();
}

void UpstreamHandler::abort_all() {
  // abort() ends (and unregisters) each one; keep them alive meanwhile.
  std::vector<std::shared_ptr<Exchange>> all;
  for (Exchange* e : *live_) all.push_back(e->shared_from_this());
  for (auto& e : all) e->abort();
  std::vector<std::shared_ptr<WsTunnel>> tunnels;
  for (WsTunnel* t : *tunnels_) tunnels.push_back(t->shared_from_this());
  for (auto& t : tunnels) t->abort();
}

}  // namespace hearth::upstream
