#pragma once
// From the Config snapshot to what each component takes: the one place where
// config fields are copied into a component's options (Pool::Options, the
// WSGI environ, the handler chain in front of the app). Daemon::run calls
// these in order; everything here is free of sockets and processes, so the
// copies are unit-tested (tests/unit/app/daemon_builder_test.cc).
//
// A new config key that a component needs: the field in config.h, its row in
// config/schema.cc, and (when the component takes an options struct) one line
// here. See docs/config.md "Adding a key".
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "config/config.h"
#include "frontdoor/compression_handler.h"
#include "frontdoor/rate_limit_handler.h"
#include "http/handler.h"
#include "proxy/environ.h"
#include "static/static_handler.h"
#include "supervisor/pool.h"
#include "tls/hsts_handler.h"

namespace hearth::app {

// execve needs a path: a bare "python3" is looked up in `path_env` ($PATH;
// null = the usual /usr/local/bin:/usr/bin:/bin). Unchanged when it has a '/'
// or is found nowhere (the caller's access() check then reports it).
std::string resolve_program(const std::string& prog, const char* path_env);

// The zygote's (and so the workers') environment, "K=V" sorted by name: the
// daemon's own `environ` without the service manager's variables, then the
// config's env table, then HEARTH_* and SERVER_SOFTWARE; PYTHONUNBUFFERED=1
// unless set.
std::vector<std::string> app_environment(const config::Config& c, const char* const* environ);

// Every Pool option from the config; `python` is resolved, `env` from
// app_environment(), `death_pipe_read_fd` the read end the children hold.
supervisor::Pool::Options pool_options(const config::Config& c, std::string python, std::vector<std::string> env,
                                       int death_pipe_read_fd);

// What the WSGI environ builder needs (proxy, health checks, warm-up).
proxy::EnvironOptions environ_options(const config::Config& c);

// The request internal keep-warm sends: the first warm-up request, else a GET
// of the health path, else GET /.
config::WarmupRequest keepwarm_request(const config::Config& c);

// The handlers in front of the app, each wrapping the next; `front` is the
// outermost (HSTS, rate limits, static files, compression, then the app). A
// handler is absent when its config is off.
struct HandlerChain {
  std::unique_ptr<frontdoor::CompressionHandler> compression;  // [compression] enabled
  std::unique_ptr<statics::StaticHandler> statics;             // [[static]] mounts
  std::unique_ptr<frontdoor::RateLimitHandler> rate_limit;     // [[rate_limit]] rules
  std::unique_ptr<tls::HstsHandler> hsts;                      // tls.hsts_max_age > 0 with TLS
  http::RequestHandler* front = nullptr;
};

// Builds the chain around `app`. Start-up regime: "" or the error (a static
// mount that cannot be served). `observer` and `clock` must outlive the chain.
[[nodiscard]] std::string build_handler_chain(const config::Config& c, http::RequestHandler& app,
                                              proxy::RequestObserver* observer,
                                              const ClockSource& clock, HandlerChain* out);

}  // namespace hearth::app
