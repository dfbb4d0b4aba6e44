#pragma once
// What a BufferedResponseSink needs from the connection that owns it.

namespace hearth::http {

class SinkTransport {
 public:
  // The sink has new bytes to write, or the response ended. Called from
  // inside handler calls: the transport should defer the write (post), not
  // write re-entrantly.
  virtual void on_sink_output() = 0;

 protected:
  ~SinkTransport() = default;
};

}  // namespace hearth::http
