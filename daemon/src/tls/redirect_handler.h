#pragma once
// The plain-HTTP listener of tls.redirect_http_from: every request is answered
// with 308 Permanent Redirect to the same host and path over HTTPS (308 keeps
// the method and body, unlike 301). Never reaches the app, never sends HSTS
// (RFC 6797 7.2: not over plain HTTP).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/handler.h"

namespace hearth::tls {

// The Location for a request: "https://HOST[:PORT]TARGET". `host` is the Host
// header (its port dropped; an IPv6 literal keeps its brackets); `target` the
// request-target (absolute-form is reduced to its path, anything that is not
// a path becomes "/"); `https_port` is left out when it is 443. nullopt when
// the host is empty or not a valid host name / IP literal.
std::optional<std::string> https_location(std::string_view host, std::string_view target, uint16_t https_port);

class RedirectHandler final : public http::RequestHandler {
 public:
  // The HTTPS port to redirect to; set once the HTTPS listeners are bound.
  void set_https_port(uint16_t port) { https_port_ = port; }
  void handle(std::shared_ptr<http::Request> request, std::shared_ptr<http::ResponseSink> sink) override;

 private:
  uint16_t https_port_ = 443;
};

}  // namespace hearth::tls
