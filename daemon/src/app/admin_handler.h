#pragma once
// The admin listener's endpoints: /healthz (the daemon is alive), /readyz
// (enough workers are ready and the daemon is not draining), /metrics.
#include <functional>
#include <string>

#include "http/handler.h"

namespace hearth::app {

class AdminHandler final : public http::RequestHandler {
 public:
  struct Probes {
    std::function<bool()> ready;              // /readyz
    std::function<std::string()> metrics;     // /metrics body (Prometheus text)
  };
  explicit AdminHandler(Probes probes) : probes_(std::move(probes)) {}
  void handle(std::shared_ptr<http::Request> request, std::shared_ptr<http::ResponseSink> sink) override;

 private:
  Probes probes_;
};

}  // namespace hearth::app
