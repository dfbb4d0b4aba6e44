#pragma once
// The [[apps]] stage of the config pipeline (docs/several-apps.md). Each
// [[apps]] block is a full app: `name`, the routing keys `hosts` and
// `prefix`, and any per-app key (is_app_block_key(): the application,
// workers, timeouts, lifecycle, [health], [warmup], [keepwarm], [hooks]).
// A block is read over a copy of the merged top level (file < environment <
// CLI), so a per-app key the block does not set keeps the top-level value;
// daemon-wide keys (binds, [http], [tls], [[static]], ...) are errors inside
// a block. The same reader, validation and file:line:col messages as the top
// level are used.
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/loader.h"
#include "config/provenance.h"
#include "config/schema.h"

namespace hearth::config {

// True for a dotted key an [[apps]] block may set ("workers", "health.path",
// "health"); name, hosts and prefix are read apart.
bool is_app_block_key(std::string_view key);

// The closest key an [[apps]] block accepts, or "" (edit distance <= 2).
std::string suggest_app_block_key(std::string_view unknown);

// An app name: 1..64 of [a-z0-9_-].
bool is_app_name(std::string_view name);

// The routing keys of one [[apps]] entry, for the reference.
std::span<const KeySpec> apps_entry_schema();

// Every per-app key, for the reference (top-level keys and sections).
std::span<const std::string_view> app_block_keys();

// Reads the [[apps]] blocks of the TOML `text` over copies of `top` (which
// has no apps yet) and checks them: a top-level `app` (or the CLI's APP)
// with [[apps]], names, each app's settings (validate(); a message already in
// `top_errors` is not repeated), and the routes (routing::RouteTable::build).
// Every entry is returned, good or not; `errors` gets the problems.
std::vector<AppConfig> read_apps(std::string_view text, const std::string& path, const Config& top,
                                 const Provenance& top_prov, unsigned cores, Action action,
                                 const std::vector<std::string>& top_errors, std::vector<std::string>& errors);

}  // namespace hearth::config
