#pragma once
// What a BufferedResponseSink needs from the connection that owns it.
#include <cstddef>
#include <string_view>

namespace hearth::http {

class SinkTransport {
 public:
  // The sink has new bytes to write, or the response ended. Called from
  // inside handler calls: the transport should defer the write (post), not
  // write re-entrantly.
  virtual void on_sink_output() = 0;

  // Write-through of a large body piece (BufferedResponseSink::body): write
  // `first` and then `second` now, without blocking, if the transport can (a
  // plain socket with no write in flight); returns how many bytes the socket
  // took, from the start of `first` (0: none, or not now; the sink then queues
  // them as usual). Only writes: it never completes the response, calls back
  // into the sink or runs a handler, so it is safe from inside handler calls.
  // An error is not reported here: the queued rest's write meets it.
  virtual std::size_t write_now(std::string_view first, std::string_view second) {
    (void)first;
    (void)second;
    return 0;
  }

 protected:
  ~SinkTransport() = default;
};

}  // namespace hearth::http
