#include "app/admin_handler.h"

namespace hearth::app {

void AdminHandler::handle(std::shared_ptr<http::Request> req, std::shared_ptr<http::ResponseSink> sink) {
  std::string_view path = req->target;
  if (auto q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
  if (req->method != "GET" && req->method != "HEAD") {
    sink->simple(405, "text/plain", "Method Not Allowed\n", {http::Header{"Allow", "GET, HEAD"}});
    return;
  }
  if (path == "/healthz") {
    sink->simple(200, "text/plain", "ok\n");
  } else if (path == "/readyz") {
    if (probes_.ready && probes_.ready())
      sink->simple(200, "text/plain", "ready\n");
    else
      sink->simple(503, "text/plain", "not ready\n");
  } else if (path == "/metrics" && probes_.metrics) {
    sink->simple(200, "text/plain; version=0.0.4; charset=utf-8", probes_.metrics());
  } else {
    sink->simple(404, "text/plain", "Not Found\n");
  }
}

}  // namespace hearth::app
