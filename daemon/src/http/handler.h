#pragma once
// The seam between the front door (which owns sockets) and whoever answers
// requests (the proxy, the admin endpoints). A handler never touches a socket.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/request.h"

namespace hearth::http {

class ErrorPages;

// Told when the client of a response goes away before the response ended (its
// connection closed, or its h2 stream was reset). A producer registers itself
// with ResponseSink::watch_client() for one exchange and unregisters before it
// lets go of the sink; the sink calls on_client_gone() at most once, from
// inside the connection's close path: the listener must not call back into
// the sink from there.
class ClientGoneListener {
 public:
  virtual void on_client_gone() = 0;

 protected:
  ~ClientGoneListener() = default;
};

// Where a handler writes its answer. Owned by the connection; all calls on the
// connection's executor. Calls after finish() or after the client went away
// are ignored. body() never blocks: the sink buffers (memory, then a temp file
// beyond response_buffer_size), so a worker is drained as fast as it writes.
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  // status: 100..999; reason may be empty (a standard one is used). Headers as
  // the app gave them; the sink drops hop-by-hop headers (Connection,
  // Keep-Alive, Transfer-Encoding, Upgrade, TE, Trailer, Proxy-*) and chooses
  // the framing itself (Content-Length if the app set a valid one, else chunked
  // for HTTP/1.1, else close-delimited). Adds Date and Server.
  virtual void start(int status, std::string_view reason, std::vector<Header> headers) = 0;
  virtual void body(std::string_view data) = 0;
  // A file region as (the rest of) the body: `length` bytes of `fd` from
  // `offset`. The sink dup()s `fd`, so the caller may close its own right
  // after. It must be the last body call before finish(). The default reads
  // the region in 64 KiB pieces into body(); connections override it so that
  // a large file is never held in memory (HTTP/1.1 over plain TCP: sendfile;
  // TLS: read and written in chunks; h2: copied chunk by chunk through the
  // DATA frames). false: the file could not be read (the caller then calls
  // finish(false)).
  [[nodiscard]] virtual bool body_file(int fd, uint64_t offset, uint64_t length);
  // ok=false: the response is broken mid-way (worker died, app raised after
  // start): the connection is closed without completing the framing so the
  // client can tell. finish(true) before start() is a bug (asserted).
  virtual void finish(bool ok) = 0;
  // True once the client disconnected or the connection was aborted; the
  // handler may then stop producing (it must still call finish()).
  virtual bool client_gone() const = 0;
  // The request left the queue for a worker (for queue-time metrics). Optional.
  virtual void dispatched() {}
  // Back-pressure for slow clients (http.max_response_spool,
  // http.max_total_response_spool): true while the sink holds all it may. The
  // producer (a WorkerSlot) then stops reading from the worker and calls
  // when_writable(); the callback runs once the sink takes more again or the
  // client is gone (one callback at a time; a new one replaces the old). The
  // default never fills.
  virtual bool full() const { return false; }
  virtual void when_writable(std::function<void()> cb) {
    if (cb) cb();
  }
  // The response is a stream (the worker's RESPONSE_START STREAM flag: server-sent
  // events, X-Accel-Buffering: no, an ASGI body with more_body): each body() goes to
  // the client as it comes, and nothing is spooled to a temp file. At most
  // response_buffer_size waits in memory; beyond, full() holds the producer, so a
  // client that does not read pauses the worker (nginx's proxy_buffering off).
  // Call before start(). Wrapping sinks forward it; the default ignores it.
  virtual void set_streaming() {}
  // `listener` (null: none) is told when the client goes away (ClientGoneListener).
  // Wrapping sinks forward it; the default never tells (client_gone() still answers).
  virtual void watch_client(ClientGoneListener* listener) {}
  // Convenience: a complete small response (used for 502/503/504 and admin pages).
  // The daemon's own answers go through here, the app's never do: a 4xx/5xx
  // status with an [[error_page]] (error_pages()) gets that page's body and
  // content type instead of `text`.
  void simple(int status, std::string_view content_type, std::string_view text,
              std::vector<Header> extra = {});
  // The [[error_page]] bodies of the connection this sink writes to; null when
  // there are none. Wrapping sinks forward it.
  virtual const ErrorPages* error_pages() const { return nullptr; }
};

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  // Called once per request, on the connection's executor. The handler must
  // eventually call sink->finish(...) exactly once.
  virtual void handle(std::shared_ptr<Request> request, std::shared_ptr<ResponseSink> sink) = 0;
};

}  // namespace hearth::http
