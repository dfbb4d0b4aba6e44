#pragma once
// The `hearthctl status` answer (docs/cli.md): the pool's status plus the
// daemon's own facts, as one JSON object. Pure: the caller gathers the
// inputs, so a test builds a Status by hand and reads the document back.
#include <cstddef>
#include <string>
#include <string_view>

#include "supervisor/pool.h"

namespace hearth::app {

// What the daemon adds to the pool's status.
struct StatusContext {
  std::string_view version;  // build::kVersion
  int pid = 0;
  std::string_view app;      // config `app`
  bool preload = true;
  std::size_t queue_length = 0;
  double uptime_s = 0;
};

std::string status_json(const supervisor::Pool::Status& st, const StatusContext& ctx);

}  // namespace hearth::app
