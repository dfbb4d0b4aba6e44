#pragma once
// Builds the WSGI environ block (docs/worker-protocol.md) from a buffered
// request. Pure: no I/O, so every rule here has a unit test.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/request.h"

namespace hearth::proxy {

struct EnvironOptions {
  std::vector<std::string> forwarded_allow_ips;  // peers whose X-Forwarded-* we believe; "*" = all
  std::string server_software;                   // "hearth/0.1.0"
  // [[apps]] mounted under a prefix (docs/several-apps.md): SCRIPT_NAME, the
  // prefix without a trailing slash; PATH_INFO is then the rest of the path.
  // "" = mounted at the root (the single-app form).
  std::string script_name;
};

struct EnvironResult {
  std::string block;       // key\0value\0...
  std::string request_id;  // the id passed to the app and returned to the client
  std::string error;       // non-empty: answer 400 with this reason
};

// True when `peer` is covered by the allow-list ("*" = any; exact IPs).
bool forwarded_allowed(const std::vector<std::string>& allow, std::string_view peer);
// Percent-decodes; nullopt on a bad escape or a decoded NUL.
std::optional<std::string> percent_decode(std::string_view in);
// A client-supplied X-Request-ID is kept when 1..128 chars of [A-Za-z0-9._:-].
bool sane_request_id(std::string_view id);
// The id of a request: the client's X-Request-ID when sane, else `generated_id`.
// Never empty when `generated_id` is not.
std::string request_id_for(const http::Request& req, std::string_view generated_id);

// PATH_INFO under a mount: `path` without `script_name` when it starts with
// it ("/blog/x" under "/blog" -> "/x"; "/blog" -> ""), else `path`.
std::string_view mounted_path_info(std::string_view path, std::string_view script_name);

EnvironResult build_environ(const http::Request& req, const EnvironOptions& opt, std::string_view generated_id);

}  // namespace hearth::proxy
