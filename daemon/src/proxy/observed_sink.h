#pragma once
// Wraps the connection's ResponseSink for one proxied request: adds
// X-Request-ID to the response, and when the response ends hands a
// RequestRecord to the observer (metrics, access log). Measured at the proxy.
#include <memory>
#include <string>

#include "common/clock.h"
#include "http/handler.h"

namespace hearth::proxy {

struct RequestRecord {
  const http::Request* request = nullptr;  // valid during on_request_done only
  std::string request_id;
  int status = 0;
  uint64_t bytes_out = 0;     // body bytes the app produced
  bool complete = false;      // finish(true)
  bool client_gone = false;   // the client left before the end
  bool dispatched = false;    // reached a worker
  bool is_static = false;     // answered by a [[static]] mount, not the app
  TimePoint received_at{};
  TimePoint dispatched_at{};
  TimePoint finished_at{};
};

class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  virtual void on_request_start() = 0;
  virtual void on_request_done(const RequestRecord& record) = 0;
};

class ObservedSink final : public http::ResponseSink {
 public:
  struct Options {
    bool add_request_id = true;  // X-Request-ID on the response (app responses)
    bool is_static = false;      // the record says a static mount answered
    std::string via;             // "" = none; else appended to (or set as) the Via header
  };
  ObservedSink(std::shared_ptr<http::ResponseSink> inner, std::shared_ptr<http::Request> request,
               std::string request_id, RequestObserver* observer, const ClockSource& clock);
  ObservedSink(std::shared_ptr<http::ResponseSink> inner, std::shared_ptr<http::Request> request,
               std::string request_id, RequestObserver* observer, const ClockSource& clock, Options options);
  ~ObservedSink() override;
  void start(int status, std::string_view reason, std::vector<http::Header> headers) override;
  void body(std::string_view data) override;
  [[nodiscard]] bool body_file(int fd, uint64_t offset, uint64_t length) override;
  void finish(bool ok) override;
  bool client_gone() const override { return inner_->client_gone(); }
  const http::ErrorPages* error_pages() const override { return inner_->error_pages(); }
  bool full() const override { return inner_->full(); }
  void when_writable(std::function<void()> cb) override { inner_->when_writable(std::move(cb)); }
  void set_streaming() override { inner_->set_streaming(); }
  void watch_client(http::ClientGoneListener* l) override { inner_->watch_client(l); }
  void dispatched() override;

 private:
  std::shared_ptr<http::ResponseSink> inner_;
  std::shared_ptr<http::Request> request_;
  RequestObserver* observer_;
  const ClockSource& clock_;
  Options options_;
  RequestRecord rec_;
  bool done_ = false;
};

}  // namespace hearth::proxy
