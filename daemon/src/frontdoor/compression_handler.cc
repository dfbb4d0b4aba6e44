#include "frontdoor/compression_handler.h"

#include <strings.h>

#include "frontdoor/compression_policy.h"
#include "frontdoor/compressor.h"

namespace hearth::frontdoor {
namespace {

class CompressingSink final : public http::ResponseSink {
 public:
  CompressingSink(std::shared_ptr<http::ResponseSink> inner, std::shared_ptr<const config::CompressionConfig> cfg,
                  Coding coding, std::shared_ptr<CompressionHandler::Counts> counter)
      : inner_(std::move(inner)), cfg_(std::move(cfg)), coding_(coding), counter_(std::move(counter)) {}

  void start(int status, std::string_view reason, std::vector<http::Header> headers) override {
    CompressPlan p = plan(*cfg_, coding_, status, headers);
    if (p.kind == CompressPlan::Kind::Compress) {
      encoder_ = Compressor::make(p.coding, static_cast<int>(cfg_->level));
      if (!encoder_) p.kind = CompressPlan::Kind::VaryOnly;  // the library failed: send it as is
    }
    if (p.kind != CompressPlan::Kind::AsIs) apply(headers, p.coding, p.kind == CompressPlan::Kind::VaryOnly);
    if (encoder_) ++(p.coding == Coding::Brotli ? counter_->br : counter_->gzip);
    inner_->start(status, reason, std::move(headers));
  }
  void body(std::string_view data) override {
    if (!encoder_) return inner_->body(data);
    if (data.empty() || broken_) return;
    out_.clear();
    if (!encoder_->write(data, out_)) {
      broken_ = true;
      return;
    }
    if (!out_.empty()) inner_->body(out_);
  }
  bool body_file(int fd, uint64_t offset, uint64_t length) override {
    // The file's bytes must pass through the encoder: read it into body().
    if (!encoder_) return inner_->body_file(fd, offset, length);
    return ResponseSink::body_file(fd, offset, length);
  }
  void finish(bool ok) override {
    if (encoder_ && ok && !broken_) {
      out_.clear();
      if (encoder_->finish(out_)) {
        if (!out_.empty()) inner_->body(out_);
      } else {
        broken_ = true;
      }
    }
    encoder_.reset();
    inner_->finish(ok && !broken_);
  }
  bool client_gone() const override { return inner_->client_gone(); }
  void dispatched() override { inner_->dispatched(); }
  // Back-pressure passes through: compressed output is smaller than what the
  // worker wrote, so the inner sink's limits bound it too.
  bool full() const override { return inner_->full(); }
  void when_writable(std::function<void()> cb) override { inner_->when_writable(std::move(cb)); }
  void set_streaming() override { inner_->set_streaming(); }
  void watch_client(http::ClientGoneListener* l) override { inner_->watch_client(l); }
  const http::ErrorPages* error_pages() const override { return inner_->error_pages(); }

 private:
  std::shared_ptr<http::ResponseSink> inner_;
  std::shared_ptr<const config::CompressionConfig> cfg_;
  Coding coding_;
  std::shared_ptr<CompressionHandler::Counts> counter_;
  std::unique_ptr<Compressor> encoder_;  // set at start() when this response is compressed
  std::string out_;
  bool broken_ = false;
};

}  // namespace

CompressionHandler::CompressionHandler(config::CompressionConfig cfg, http::RequestHandler& next)
    : cfg_(std::make_shared<const config::CompressionConfig>(std::move(cfg))), next_(next) {}

void CompressionHandler::handle(std::shared_ptr<http::Request> request, std::shared_ptr<http::ResponseSink> sink) {
  std::string_view accept;
  for (const auto& h : request->headers) {
    if (h.name.size() == 15 && strncasecmp(h.name.data(), "Accept-Encoding", 15) == 0) {
      accept = h.value;  // repeated headers: the last; clients send one
    }
  }
  Coding coding = negotiate(*cfg_, accept);
  auto wrapped = std::make_shared<CompressingSink>(std::move(sink), cfg_, coding, counts_);
  next_.handle(std::move(request), std::move(wrapped));
}

}  // namespace hearth::frontdoor
