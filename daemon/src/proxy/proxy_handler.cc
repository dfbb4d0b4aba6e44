#include "proxy/proxy_handler.h"

#include <charconv>
#include <cstring>

#include "proxy/sink_allocator.h"

namespace hearth::proxy {

ProxyHandler::ProxyHandler(Dispatcher& dispatcher, EnvironOptions options, RequestObserver* observer,
                           const ClockSource* clock)
    : dispatcher_(dispatcher), options_(std::move(options)), observer_(observer), clock_(clock ? *clock : steady_) {}

void ProxyHandler::handle(std::shared_ptr<http::Request> request, std::shared_ptr<http::ResponseSink> sink) {
  ++counter_;
  last_request_ = request->received_at != TimePoint{} ? request->received_at : Clock::now();
  EnvironResult env = build_environ(*request, options_, ids_.make(counter_));
  if (observer_ || via_) {
    ObservedSink::Options o;
    if (via_) o.via = "1.1 hearth";
    sink = std::allocate_shared<ObservedSink>(SinkAllocator<ObservedSink>{}, std::move(sink), request, env.request_id,
                                            observer_, clock_, std::move(o));
  }
  if (!env.error.empty()) {
    sink->simple(400, "text/plain", "Bad Request: " + env.error + "\n");
    return;
  }
  if (request->websocket && interface_probe_ && interface_probe_() == "wsgi") {
    // A WSGI app cannot serve a WebSocket: say so instead of passing the upgrade to it.
    sink->simple(400, "text/plain",
                 "400 Bad Request: this app is WSGI and cannot accept WebSocket connections "
                 "(serve an ASGI app, see docs/asgi.md)\n");
    return;
  }
  dispatcher_.submit(PendingRequest{std::move(request), std::move(sink), std::move(env.block)});
}

}  // namespace hearth::proxy
