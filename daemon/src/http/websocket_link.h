#pragma once
// The seam between an upgraded client connection (the front door owns its
// socket and the RFC 6455 framing) and whoever serves the WebSocket (a worker
// slot). Both sides see whole messages, never frames. All calls on the one
// event loop.
//
// Lifetime: the front door creates the link when it dispatches a valid
// handshake (Request::websocket) and keeps it while the socket is open; the
// app side holds it (shared_ptr) for its exchange and calls detach_app() when
// the exchange ends. The link holds the app side weakly.
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "http/request.h"

namespace hearth::http {

// The app's side: what the client did.
class WebSocketApp {
 public:
  virtual ~WebSocketApp() = default;
  // A complete message from the client. false: the app side holds all it may
  // now; the link stops reading the client until resume_reading().
  virtual bool on_client_message(bool text, std::string_view data) = 0;
  // The client closed (its close code, or 1006 when the connection just
  // ended), or the daemon closed it (protocol error, idle timeout, a client
  // that does not read: the code sent). Called at most once; no calls after.
  virtual void on_client_closed(uint16_t code) = 0;
};

// The client's side: what the app does.
class WebSocketLink {
 public:
  virtual ~WebSocketLink() = default;
  virtual void set_app(std::weak_ptr<WebSocketApp> app) = 0;
  virtual void detach_app() = 0;
  // Completes the handshake (101). false: the client is already gone; the
  // caller takes it as closed with 1006 (on_client_closed is not called).
  [[nodiscard]] virtual bool accept(std::string_view subprotocol, std::vector<Header> headers) = 0;
  virtual void send(bool text, std::string_view data) = 0;
  // Starts the closing handshake with `code` (the app's, or 1001/1011 when its
  // worker went away or failed).
  virtual void close(uint16_t code, std::string_view reason) = 0;
  virtual void resume_reading() = 0;
  virtual bool open() const = 0;  // accepted and not yet closed
  // Back-pressure for an app side that can wait (an upstream's WebSocket,
  // upstream/ws_tunnel.h): true while the client's unsent output is at half of
  // what the link holds before it closes a client that does not read. The app
  // side then stops producing and calls when_writable(); `cb` runs (posted)
  // once the output fell below that. One callback at a time (a new one
  // replaces the old; null drops it); dropped when the link closes (the app
  // side hears on_client_closed, or closed it itself). The defaults never fill.
  virtual bool full() const { return false; }
  virtual void when_writable(std::function<void()> cb) {
    if (cb) cb();
  }
};

}  // namespace hearth::http
