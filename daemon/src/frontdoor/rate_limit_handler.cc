#include "frontdoor/rate_limit_handler.h"

#include <cstdio>
#include <random>

namespace hearth::frontdoor {

RateLimitHandler::RateLimitHandler(const config::Config& cfg, http::RequestHandler& next,
                                   proxy::RequestObserver* observer, const ClockSource& clock)
    : rules_(cfg.rate_limits), next_(next), observer_(observer), clock_(clock) {
  for (const auto& r : cfg.rate_limits) limiters_.emplace_back(r.per_second, r.burst);
  limited_.assign(cfg.rate_limits.size(), 0);
  // Validated by the config loader; an entry it could not parse allows nobody.
  std::string ignored;
  if (auto l = net::IpAllowList::parse(cfg.forwarded_allow_ips, &ignored)) forwarded_ = std::move(*l);
}

void RateLimitHandler::handle(std::shared_ptr<http::Request> request, std::shared_ptr<http::ResponseSink> sink) {
  int i = rules_.match(match_path(request->target), request->method);
  if (i < 0) return next_.handle(std::move(request), std::move(sink));
  auto d = limiters_[static_cast<std::size_t>(i)].check(client_ip(*request, forwarded_), clock_.now());
  if (d.allowed) return next_.handle(std::move(request), std::move(sink));

  ++limited_[static_cast<std::size_t>(i)];
  ++answered_;
  if (observer_) {
    const std::string id = ids_.make(answered_);
    proxy::ObservedSink::Options o;
    o.add_request_id = false;
    sink = std::make_shared<proxy::ObservedSink>(std::move(sink), request, id, observer_, clock_, std::move(o));
  }
  auto seconds = (d.retry_after.count() + 999) / 1000;
  std::vector<http::Header> extra{{"Retry-After", std::to_string(seconds < 1 ? 1 : seconds)}};
  // simple(): an [[error_page]] for 429 replaces the text (http/error_pages.h).
  sink->simple(429, "text/plain", "429 Too Many Requests\n", std::move(extra));
}

std::vector<RateLimitHandler::RuleCount> RateLimitHandler::limited() const {
  std::vector<RuleCount> out;
  for (std::size_t i = 0; i < rules_.size(); ++i) out.push_back({RateLimitRules::label(rules_.rule(static_cast<int>(i))), limited_[i]});
  return out;
}

}  // namespace hearth::frontdoor
