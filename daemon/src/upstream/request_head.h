#pragma once
// The request head hearthd sends to an upstream server (HTTP/1.1). Pure.
//  - the target: the client's raw path and query; with strip_prefix the
//    matched prefix is taken off the path ("/socket/x?y" under "/socket" ->
//    "/x?y"; the prefix itself -> "/"). An absolute-form target becomes
//    origin-form.
//  - the client's headers in order, minus the hop-by-hop ones
//    (http/hop_by_hop.h, and every field the Connection header names),
//    Content-Length (set from the buffered body), Expect (the body is sent at
//    once) and the X-Forwarded-* the daemon sets itself; Host is kept (the
//    server's address when the client sent none); X-Request-ID is the
//    client's, else the one hearthd gave the request.
//  - X-Forwarded-For: the client's list with the peer appended (nginx's
//    $proxy_add_x_forwarded_for); X-Forwarded-Proto: http or https;
//    X-Forwarded-Host: the client's Host.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "http/request.h"

namespace hearth::upstream {

// The target to send. `script_name` is the matched prefix (RouteMatch), ""
// for none; it is stripped only when `strip_prefix`.
std::string upstream_target(std::string_view raw_target, std::string_view script_name, bool strip_prefix);

struct HeadOptions {
  std::string_view target;        // upstream_target()
  std::string_view default_host;  // Host when the request has none ("127.0.0.1:3000")
  uint64_t body_size = 0;         // Content-Length (sent when > 0 or the method carries a body)
  std::string_view request_id;    // X-Request-ID when the client sent none ("" = none)
};
std::string build_request_head(const http::Request& req, const HeadOptions& o);

// The header fields of build_request_head() in order (Host first, then the
// client's end-to-end fields, X-Forwarded-*, X-Request-ID), without
// Content-Length: what a WebSocket handshake to the upstream reuses
// (ws_handshake.h).
using FieldVisitor = std::function<void(std::string_view name, std::string_view value)>;
void visit_forwarded_fields(const http::Request& req, const HeadOptions& o, const FieldVisitor& visit);

}  // namespace hearth::upstream
