#pragma once
// The [[upstreams]] stage of the config pipeline (docs/several-apps.md,
// "Upstreams"): any HTTP/1.1 server behind hearthd, routed like an app. Each
// block has a `name` (unique across apps and upstreams), the routing keys
// `hosts`, `prefix` and `strip_prefix`, and exactly one of `servers` (the
// addresses to proxy to) and `command` (a process hearthd starts with $PORT or
// $SOCKET and supervises: `env`, `chdir`, `user`, `socket`). Timeouts default
// to the top level's. Every problem is reported with file:line:col, like the
// [[apps]] stage; the routes of apps and upstreams are checked together.
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/schema.h"

namespace hearth::config {

// A server address of `servers`: "HOST:PORT", "[V6]:PORT" or "unix:/path".
struct ServerAddress {
  enum class Kind {
    Tcp,   // host + port (port > 0)
    Unix,  // path of a Unix stream socket
  };
  Kind kind = Kind::Tcp;
  std::string host;  // "127.0.0.1", "::1" (no brackets), "localhost"
  uint16_t port = 0;
  std::string path;  // Unix only
};
// nullopt for anything else (no port, port 0, an empty host or path).
std::optional<ServerAddress> parse_server_address(std::string_view text);

// The keys of one [[upstreams]] entry, for the reference.
std::span<const KeySpec> upstreams_entry_schema();

// Reads the [[upstreams]] blocks of the TOML `text`; `top` gives the defaults
// (timeout, boot_timeout, graceful_timeout) and its `apps` the names already
// taken. Every entry is returned, good or not; `errors` gets the problems,
// including the route table's for apps and upstreams together.
std::vector<UpstreamConfig> read_upstreams(std::string_view text, const std::string& path, const Config& top,
                                           std::vector<std::string>& errors);

}  // namespace hearth::config
