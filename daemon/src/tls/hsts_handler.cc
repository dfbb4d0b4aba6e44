#include "tls/hsts_handler.h"

#include <strings.h>

namespace hearth::tls {

namespace {

constexpr std::string_view kName = "Strict-Transport-Security";

// Forwards everything to the connection's sink, adding the header in start().
class HstsSink final : public http::ResponseSink {
 public:
  HstsSink(std::shared_ptr<http::ResponseSink> inner, std::shared_ptr<const std::string> value)
      : inner_(std::move(inner)), value_(std::move(value)) {}
  void start(int status, std::string_view reason, std::vector<http::Header> headers) override {
    bool present = false;
    for (const auto& h : headers) {
      if (h.name.size() == kName.size() && strncasecmp(h.name.data(), kName.data(), kName.size()) == 0) {
        present = true;
        break;
      }
    }
    if (!present) headers.push_back(http::Header{std::string(kName), *value_});
    inner_->start(status, reason, std::move(headers));
  }
  void body(std::string_view data) override { inner_->body(data); }
  bool body_file(int fd, uint64_t offset, uint64_t length) override { return inner_->body_file(fd, offset, length); }
  void finish(bool ok) override { inner_->finish(ok); }
  bool client_gone() const override { return inner_->client_gone(); }
  const http::ErrorPages* error_pages() const override { return inner_->error_pages(); }
  void dispatched() override { inner_->dispatched(); }
  bool full() const override { return inner_->full(); }
  void when_writable(std::function<void()> cb) override { inner_->when_writable(std::move(cb)); }
  void set_streaming() override { inner_->set_streaming(); }
  void watch_client(http::ClientGoneListener* l) override { inner_->watch_client(l); }

 private:
  std::shared_ptr<http::ResponseSink> inner_;
  std::shared_ptr<const std::string> value_;  // shared: a sink may outlive the handler
};

}  // namespace

std::string hsts_value(config::Millis max_age) {
  return "max-age=" + std::to_string(std::chrono::duration_cast<std::chrono::seconds>(max_age).count());
}

HstsHandler::HstsHandler(http::RequestHandler& inner, config::Millis max_age)
    : inner_(inner), value_(std::make_shared<const std::string>(hsts_value(max_age))) {}

void HstsHandler::handle(std::shared_ptr<http::Request> request, std::shared_ptr<http::ResponseSink> sink) {
  if (!request->tls) return inner_.handle(std::move(request), std::move(sink));
  inner_.handle(std::move(request), std::make_shared<HstsSink>(std::move(sink), value_));
}

}  // namespace hearth::tls
