#include "app/admin_handler.h"

#include <strings.h>

namespace hearth::app {

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Every byte of the longer input is read, whatever the contents.
  size_t n = a.size() > b.size() ? a.size() : b.size();
  volatile unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff = diff | static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

bool AdminHandler::authorized(const http::Request& req) const {
  if (metrics_token_.empty()) return true;
  for (const auto& h : req.headers) {
    if (::strcasecmp(h.name.c_str(), "Authorization") != 0) continue;
    std::string_view v = h.value;
    constexpr std::string_view kScheme = "bearer ";
    if (v.size() <= kScheme.size() || ::strncasecmp(v.data(), kScheme.data(), kScheme.size()) != 0) return false;
    v.remove_prefix(kScheme.size());
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    return constant_time_equal(v, metrics_token_);
  }
  return false;
}

void AdminHandler::handle(std::shared_ptr<http::Request> req, std::shared_ptr<http::ResponseSink> sink) {
  std::string_view path = req->target;
  std::string_view query;
  if (auto q = path.find('?'); q != std::string_view::npos) {
    query = path.substr(q + 1);
    path = path.substr(0, q);
  }
  if (req->method != "GET" && req->method != "HEAD") {
    sink->simple(405, "text/plain", "Method Not Allowed\n", {http::Header{"Allow", "GET, HEAD"}});
    return;
  }
  if (path == "/healthz") {
    sink->simple(200, "text/plain", "ok\n");
  } else if (path == "/readyz" && query.rfind("app=", 0) == 0 && probes_.app_ready) {
    std::string_view name = query.substr(4, query.find('&') == std::string_view::npos ? std::string_view::npos
                                                                                        : query.find('&') - 4);
    int r = probes_.app_ready(name);
    if (r < 0)
      sink->simple(404, "text/plain", "no such app\n");
    else if (r > 0)
      sink->simple(200, "text/plain", "ready\n");
    else
      sink->simple(503, "text/plain", "not ready\n");
  } else if (path == "/readyz") {
    if (probes_.ready && probes_.ready())
      sink->simple(200, "text/plain", "ready\n");
    else
      sink->simple(503, "text/plain", "not ready\n");
  } else if (path == "/metrics" && probes_.metrics) {
    if (!authorized(*req)) {
      sink->simple(401, "text/plain", "Unauthorized\n",
                   {http::Header{"WWW-Authenticate", "Bearer realm=\"hearth metrics\""}});
      return;
    }
    sink->simple(200, "text/plain; version=0.0.4; charset=utf-8", probes_.metrics());
  } else {
    sink->simple(404, "text/plain", "Not Found\n");
  }
}

}  // namespace hearth::app
