#pragma once
// The admin listener's endpoints: /healthz (the daemon is alive), /readyz
// (enough workers of every app are ready and the daemon is not draining;
// /readyz?app=NAME for one app of [[apps]], 404 for an unknown name), /metrics.
// With a metrics token, /metrics answers 401 unless the request carries
// "Authorization: Bearer <token>"; the probes stay open for load balancers.
#include <functional>
#include <string>
#include <string_view>

#include "http/handler.h"

namespace hearth::app {

class AdminHandler final : public http::RequestHandler {
 public:
  struct Probes {
    std::function<bool()> ready;              // /readyz
    std::function<std::string()> metrics;     // /metrics body (Prometheus text)
    std::function<int(std::string_view)> app_ready;  // /readyz?app=NAME: 1 ready, 0 not, -1 no such app
  };
  explicit AdminHandler(Probes probes, std::string metrics_token = {})
      : probes_(std::move(probes)), metrics_token_(std::move(metrics_token)) {}
  void handle(std::shared_ptr<http::Request> request, std::shared_ptr<http::ResponseSink> sink) override;

 private:
  bool authorized(const http::Request& req) const;

  Probes probes_;
  std::string metrics_token_;  // "" = /metrics open
};

// Compares in time that depends only on the lengths, not on where they differ.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace hearth::app
