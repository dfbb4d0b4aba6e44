#pragma once
// A complete, buffered HTTP request as the front door hands it to a handler.
// The body is fully received (in memory or a temp file) before this exists:
// a slow client never holds a worker.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "http/spool.h"

namespace hearth::http {

class WebSocketLink;

struct Header {
  std::string name;   // as sent by the client
  std::string value;  // leading/trailing whitespace trimmed
};

struct Request {
  std::string method;   // "GET"
  std::string target;   // raw request-target: "/a%20b?x=1"
  int version = 11;     // 10 or 11 (HTTP/1.x); 20 for h2
  std::vector<Header> headers;  // in arrival order, duplicates kept
  bool keep_alive = true;       // what the connection will do after the response
  bool is_head = false;
  Spool body;                   // complete request body (chunked already decoded)
  bool body_was_chunked = false;

  // Connection facts.
  std::string peer_addr;   // "127.0.0.1" (or "" for Unix sockets)
  uint16_t peer_port = 0;
  std::string local_addr;  // address the request arrived on
  uint16_t local_port = 0;
  bool tls = false;
  uint64_t connection_id = 0;
  TimePoint received_at{};  // when the head was complete
  // A valid RFC 6455 opening handshake (HTTP/1.1 only): the upgraded
  // connection, for the app side to accept, feed and close. Null otherwise.
  std::shared_ptr<WebSocketLink> websocket;
};

}  // namespace hearth::http
