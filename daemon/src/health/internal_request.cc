#include "health/internal_request.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace hearth::health {

namespace {

class CaptureSink final : public http::ResponseSink, public std::enable_shared_from_this<CaptureSink> {
 public:
  CaptureSink(boost::asio::io_context& io, InternalCallback done) : timer_(io), done_(std::move(done)) {}

  void arm(std::chrono::milliseconds timeout) {
    started_ = std::chrono::steady_clock::now();
    timer_.expires_after(timeout);
    timer_.async_wait([weak = weak_from_this(), timeout](const boost::system::error_code& ec) {
      auto self = weak.lock();
      if (ec || !self) return;
      self->complete(false, "no answer within " + std::to_string(timeout.count()) + " ms");
    });
  }
  void start(int status, std::string_view, std::vector<http::Header>) override { status_ = status; }
  void body(std::string_view) override {}
  void finish(bool ok) override {
    if (!ok) {
      complete(false, "the response broke off");
      return;
    }
    if (status_ >= 400 || status_ == 0) {
      complete(false, "status " + std::to_string(status_));
      return;
    }
    complete(true, {});
  }
  bool client_gone() const override { return finished_; }

 private:
  void complete(bool ok, std::string error) {
    if (finished_) return;
    finished_ = true;
    timer_.cancel();
    InternalResult r;
    r.ok = ok;
    r.status = status_;
    r.error = std::move(error);
    r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_);
    auto cb = std::move(done_);
    if (cb) cb(r);
  }

  boost::asio::steady_timer timer_;
  InternalCallback done_;
  int status_ = 0;
  bool finished_ = false;
  std::chrono::steady_clock::time_point started_{};
};

}  // namespace

void send_internal(boost::asio::io_context& io, supervisor::WorkerSlot& slot, const config::WarmupRequest& wr,
                   const proxy::EnvironOptions& env_options, std::string_view kind, std::chrono::milliseconds timeout,
                   InternalCallback done) {
  auto req = std::make_shared<http::Request>();
  req->method = wr.method;
  req->target = wr.path;
  req->version = 11;
  req->is_head = wr.method == "HEAD";
  req->headers.push_back(http::Header{"Host", "localhost"});
  req->headers.push_back(http::Header{"User-Agent", "hearth-" + std::string(kind)});
  req->headers.push_back(http::Header{"X-Hearth-Internal", std::string(kind)});
  for (auto& [k, v] : wr.headers) req->headers.push_back(http::Header{k, v});
  if (!wr.body.empty()) {
    (void)req->body.append(wr.body);  // memory spool: cannot fail
    req->headers.push_back(http::Header{"Content-Length", std::to_string(wr.body.size())});
  }
  req->peer_addr = "127.0.0.1";
  req->local_addr = "127.0.0.1";
  req->received_at = std::chrono::steady_clock::now();
  proxy::EnvironResult env = proxy::build_environ(*req, env_options, std::string(kind) + "-check");
  auto sink = std::make_shared<CaptureSink>(io, std::move(done));
  if (!env.error.empty()) {
    sink->simple(400, "text/plain", env.error);
    return;
  }
  sink->arm(timeout);
  slot.send(std::move(req), std::move(env.block), sink, /*internal=*/true);
}

}  // namespace hearth::health
