#pragma once
// Requests the daemon itself sends through a worker (warm-up, health checks,
// keep-warm): built like a user request (same environ builder, same slot
// protocol) but marked internal so they do not count as user traffic. The
// response is captured, not sent anywhere.
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "config/config.h"
#include "http/handler.h"
#include "proxy/environ.h"
#include "supervisor/worker_slot.h"

namespace boost::asio {
class io_context;
}

namespace hearth::health {

struct InternalResult {
  bool ok = false;     // a response arrived, complete, with status < 400, within the timeout
  int status = 0;
  std::string error;   // why not ok
  std::chrono::milliseconds elapsed{0};
};
using InternalCallback = std::function<void(const InternalResult&)>;

// Sends `req` on `slot` (which must be Idle) with its own deadline. `kind`
// ("warmup", "health", "keepwarm") is passed as X-Hearth-Internal.
void send_internal(boost::asio::io_context& io, supervisor::WorkerSlot& slot, const config::WarmupRequest& req,
                   const proxy::EnvironOptions& env_options, std::string_view kind, std::chrono::milliseconds timeout,
                   InternalCallback done);

}  // namespace hearth::health
