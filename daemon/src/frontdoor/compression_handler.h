#pragma once
// [compression]: a RequestHandler decorator in front of the app's handler
// (inserted only when compression.enabled, so it costs nothing otherwise).
// Each request's sink is wrapped in a CompressingSink that decides at start()
// (compression_policy.h) and then compresses the body as it streams: every
// body() is compressed and flushed at once, so a streamed response reaches
// the client chunk by chunk; finish() ends the stream. Works the same over
// HTTP/1.1 (chunked framing) and HTTP/2 (DATA frames) since it sits above
// the connection's sink.
//
// CPU: compression runs on the event loop, per chunk; docs/frontdoor.md has
// the measured cost per request (bench/compression_cost.py).
#include <memory>

#include "config/config.h"
#include "http/handler.h"

namespace hearth::frontdoor {

class CompressionHandler final : public http::RequestHandler {
 public:
  // `next` must outlive the handler.
  CompressionHandler(config::CompressionConfig cfg, http::RequestHandler& next);
  void handle(std::shared_ptr<http::Request> request, std::shared_ptr<http::ResponseSink> sink) override;

  // Responses compressed since start, by coding.
  struct Counts {
    uint64_t br = 0;
    uint64_t gzip = 0;
  };
  Counts compressed() const { return *counts_; }

 private:
  std::shared_ptr<const config::CompressionConfig> cfg_;  // shared: a sink may outlive the handler
  http::RequestHandler& next_;
  std::shared_ptr<Counts> counts_ = std::make_shared<Counts>();
};

}  // namespace hearth::frontdoor
