#pragma once
// Requests of finished keep-alive requests, recycled for the next request on
// the same server (issue 14: three allocations per request fewer, the Request,
// its header vector and the method/target strings' buffers).
// A recycled request is indistinguishable from a new one but for capacity.
//
// A Request is shared with the handler, which may release it after the
// response is done (the proxy's ObservedSink does), so give() takes it while
// it may still be held and take() only reuses one that nobody else holds
// (use_count() == 1; the server's objects all live on one executor). At most
// kSize are kept, and a request whose buffers grew past the caps below is
// never reused: a huge request does not pin memory. An idle connection holds
// none; the pool belongs to the server (net::ServerState).
#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

#include "http/request.h"

namespace hearth::http {

static_assert(sizeof(Request) == 4 * sizeof(std::string) + sizeof(std::vector<Header>) + sizeof(Spool) + 56 +
                  sizeof(std::shared_ptr<WebSocketLink>),
              "Request changed: reset the new field in RequestPool::clear()");

class RequestPool {
 public:
  static constexpr std::size_t kSize = 8;
  static constexpr std::size_t kMaxHeaders = 32;        // header vector capacity kept
  static constexpr std::size_t kMaxStringBytes = 1024;  // method/target/address capacity kept

  // A request as a new Request(), maybe with the capacity of a recycled one;
  // null when none is free (the caller then makes one).
  std::shared_ptr<Request> take() {
    for (std::size_t i = kept_.size(); i-- > 0;) {
      if (kept_[i].use_count() != 1) continue;
      std::shared_ptr<Request> req = std::move(kept_[i]);
      kept_[i] = std::move(kept_.back());
      kept_.pop_back();
      if (!small(*req)) return nullptr;
      clear(*req);
      return req;
    }
    return nullptr;
  }

  // A finished request (maybe still held by its handler for a while).
  // One with a body is not kept (its spool may hold a temp file).
  void give(std::shared_ptr<Request> req) {
    if (req == nullptr || kept_.size() >= kSize || req->body.size() != 0 || !req->body.in_memory()) return;
    // A WebSocket session holds the server state that holds this pool: a kept link
    // would be a reference cycle (LeakSanitizer found it at exit).
    req->websocket.reset();
    kept_.push_back(std::move(req));
  }

  std::size_t size() const { return kept_.size(); }

  // Back to what Request{} is, keeping the buffers of the strings and the
  // header vector (the headers themselves are destroyed) and the body's spool
  // (emptied; the parser configures it again).
  // Field by field (a move-assign of a fresh Request costs twice as much);
  // the static_assert below catches a new field that is not reset here.
  static void clear(Request& r) {
    r.method.clear();
    r.target.clear();
    r.version = 11;
    r.headers.clear();
    r.keep_alive = true;
    r.is_head = false;
    r.body.clear();
    r.body_was_chunked = false;
    r.peer_addr.clear();
    r.peer_port = 0;
    r.local_addr.clear();
    r.local_port = 0;
    r.tls = false;
    r.connection_id = 0;
    r.received_at = TimePoint{};
    r.websocket.reset();
  }

  static bool small(const Request& r) {
    return r.headers.capacity() <= kMaxHeaders && r.method.capacity() <= kMaxStringBytes &&
           r.target.capacity() <= kMaxStringBytes && r.peer_addr.capacity() <= kMaxStringBytes &&
           r.local_addr.capacity() <= kMaxStringBytes;
  }

 private:
  std::vector<std::shared_ptr<Request>> kept_;
};

}  // namespace hearth::http
