#pragma once
// The `hearthctl status` answer (docs/cli.md): the pool's status plus the
// daemon's own facts, as one JSON object. Pure: the caller gathers the
// inputs, so a test builds a Status by hand and reads the document back.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

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
  // [[apps]]: the app's name and its life (AppUnit::State: "running",
  // "failed", "stopped"); "" in the single-app form (the fields are left out).
  std::string_view name;
  std::string_view state;
};

std::string status_json(const supervisor::Pool::Status& st, const StatusContext& ctx);

// Several apps (`hearthctl status` without a name): {"ok":true,"apps":[...]},
// each item one status_json() document; with [[upstreams]] also
// "upstreams":[...], each item one UpstreamUnit::status_json() document.
std::string apps_status_json(const std::vector<std::string>& documents,
                             const std::vector<std::string>& upstreams = {});

// `doc` (a JSON object) with "ok":true added.
std::string ok_document(const std::string& doc);

}  // namespace hearth::app
