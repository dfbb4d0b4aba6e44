#pragma once
// Adds Strict-Transport-Security to every response to a request that came in
// over TLS (tls.hsts_max_age > 0), unless the app set the header itself
// (Django's SecurityMiddleware does). Wraps the real handler; plain requests
// pass straight through.
#include <memory>
#include <string>

#include "config/config.h"
#include "http/handler.h"

namespace hearth::tls {

// "max-age=31536000".
std::string hsts_value(config::Millis max_age);

class HstsHandler final : public http::RequestHandler {
 public:
  HstsHandler(http::RequestHandler& inner, config::Millis max_age);
  void handle(std::shared_ptr<http::Request> request, std::shared_ptr<http::ResponseSink> sink) override;

 private:
  http::RequestHandler& inner_;
  std::shared_ptr<const std::string> value_;
};

}  // namespace hearth::tls
