#pragma once
// The front door's RequestHandler for the app: builds the environ and hands
// the request to the dispatcher. Never touches a socket.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/clock.h"
#include "http/handler.h"
#include "proxy/dispatcher.h"
#include "proxy/environ.h"
#include "proxy/observed_sink.h"
#include "proxy/request_ids.h"

namespace hearth::proxy {

class ProxyHandler final : public http::RequestHandler {
 public:
  // observer (optional): metrics and the access log, fed per request.
  ProxyHandler(Dispatcher& dispatcher, EnvironOptions options, RequestObserver* observer = nullptr,
               const ClockSource* clock = nullptr);
  void handle(std::shared_ptr<http::Request> request, std::shared_ptr<http::ResponseSink> sink) override;
  uint64_t requests() const { return counter_; }
  // http.via: add "Via: 1.1 hearth" to every response from the app.
  void set_via(bool on) { via_ = on; }
  // The app's interface ("wsgi", "asgi", "auto", "" = not known yet), asked
  // for each WebSocket handshake: a WSGI app cannot take one (400, said so).
  void set_interface_probe(std::function<std::string()> probe) { interface_probe_ = std::move(probe); }
  // When the last user request arrived (start-up time before the first).
  TimePoint last_request() const { return last_request_; }

 private:

  Dispatcher& dispatcher_;
  EnvironOptions options_;
  RequestObserver* observer_;
  SteadyClock steady_;
  const ClockSource& clock_;
  uint64_t counter_ = 0;
  bool via_ = false;
  RequestIds ids_;
  TimePoint last_request_ = Clock::now();
  std::function<std::string()> interface_probe_;
};

}  // namespace hearth::proxy
