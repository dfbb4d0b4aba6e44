#pragma once
// Applies the [[rate_limit]] rules in front of the rest of the chain (a
// RequestHandler decorator, inserted only when rules exist, so a config
// without them pays nothing): a request under a rule takes a token from its
// client's bucket; without one it is answered 429 Too Many Requests with
// Retry-After (whole seconds, at least 1) and never reaches static mounts or
// the app. Limited answers are reported to the observer (access log,
// metrics) like any request, and counted per rule for
// hearth_rate_limited_total{rule}.
//
// Threading: one executor (the io_context the connections run on).
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "config/config.h"
#include "frontdoor/rate_limit_rules.h"
#include "frontdoor/rate_limiter.h"
#include "http/handler.h"
#include "net/ip_allow_list.h"
#include "proxy/observed_sink.h"
#include "proxy/request_ids.h"

namespace hearth::frontdoor {

class RateLimitHandler final : public http::RequestHandler {
 public:
  // `next`, `observer` (may be null) and `clock` must outlive the handler.
  RateLimitHandler(const config::Config& cfg, http::RequestHandler& next, proxy::RequestObserver* observer,
                   const ClockSource& clock);
  void handle(std::shared_ptr<http::Request> request, std::shared_ptr<http::ResponseSink> sink) override;

  struct RuleCount {
    std::string rule;  // RateLimitRules::label()
    uint64_t limited = 0;
  };
  std::vector<RuleCount> limited() const;

 private:
  RateLimitRules rules_;
  std::vector<RateLimiter> limiters_;  // one per rule
  std::vector<uint64_t> limited_;      // per rule
  net::IpAllowList forwarded_;
  http::RequestHandler& next_;
  proxy::RequestObserver* observer_;
  const ClockSource& clock_;
  proxy::RequestIds ids_{"r"};
  uint64_t answered_ = 0;
};

}  // namespace hearth::frontdoor
