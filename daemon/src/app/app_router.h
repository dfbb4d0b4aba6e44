#pragma once
// The front door's handler with several apps ([[apps]], docs/several-apps.md):
// picks the app for each request with routing::RouteTable (its Host, or the
// authority of an absolute-form target, and its percent-decoded path) and
// hands the request to that app's handler (its ProxyHandler). Never touches a
// socket. A miss is answered here: 421 when the request named a Host that no
// app serves, 404 otherwise (routing/router.h). An app that could not start
// (Gate::Closed) answers 503 without touching the others.
//
// The single-app form never builds one: its ProxyHandler is the chain's app
// handler directly, so the hot path pays nothing for routing.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "http/handler.h"
#include "proxy/observed_sink.h"
#include "routing/router.h"

namespace hearth::app {

class AppRouter final : public http::RequestHandler {
 public:
  // Whether an app takes requests now.
  enum class Gate {
    Open,    // serving (or starting: requests wait in its queue)
    Closed,  // failed to start; answered 503 until it is started again
  };
  struct Target {
    http::RequestHandler* handler = nullptr;  // the app's proxy; outlives the router
    std::function<Gate()> gate;               // null = always open
  };
  // `targets[i]` serves `table.entries()[i]`. `observer` (optional, with
  // `clock`): the answers the router makes itself (421, 404, 503) reach the
  // metrics and the access log like every other response.
  AppRouter(routing::RouteTable table, std::vector<Target> targets, proxy::RequestObserver* observer = nullptr,
            const ClockSource* clock = nullptr);
  void handle(std::shared_ptr<http::Request> request, std::shared_ptr<http::ResponseSink> sink) override;
  // A configuration reload's routes (docs/several-apps.md): from the next
  // request on. Requests already handed to an app stay with it.
  void replace(routing::RouteTable table, std::vector<Target> targets) {
    table_ = std::move(table);
    targets_ = std::move(targets);
  }

  // Counted misses, for tests and the status document.
  uint64_t misdirected() const { return misdirected_; }
  uint64_t not_found() const { return not_found_; }

 private:
  std::shared_ptr<http::ResponseSink> observe(const std::shared_ptr<http::Request>& request,
                                              std::shared_ptr<http::ResponseSink> sink);

  routing::RouteTable table_;
  std::vector<Target> targets_;
  proxy::RequestObserver* observer_;
  const ClockSource* clock_;
  uint64_t misdirected_ = 0;
  uint64_t not_found_ = 0;
};

// The Host a request names for routing: the absolute-form target's authority,
// else the Host header; "" when neither. A view into `req`.
std::string_view routing_host(const http::Request& req);

// The request-target's path, percent-decoded, without the query; nullopt for
// a bad escape (the app's environ builder answers 400 for it).
std::optional<std::string> routing_path(const http::Request& req);

}  // namespace hearth::app
