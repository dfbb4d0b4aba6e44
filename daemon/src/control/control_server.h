#pragma once
// hearthctl's endpoint: a Unix socket (mode 0600) taking one command line per
// connection and answering with one JSON document. Peers are checked with
// SO_PEERCRED: only root or the daemon's own uid may act.
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace hearth::control {

class ControlServer {
 public:
  using Reply = std::function<void(std::string json)>;
  // Handles one command ("status", "stop", "reload", "scale 4"); calls reply once.
  using Handler = std::function<void(std::string_view command, Reply reply)>;

  ControlServer(boost::asio::io_context& io, Handler handler);
  ~ControlServer();
  // Start-up regime: throws std::runtime_error with a clear message.
  void listen(const std::string& path);
  // Serves an inherited listening socket bound at `path` (binary upgrade).
  void adopt(int fd, const std::string& path);
  // Closes and removes the socket file.
  void close();
  // Closes without removing the socket file: a new hearthd serves it now.
  void release();
  // The listening socket, or -1.
  int native_handle() { return acceptor_.is_open() ? acceptor_.native_handle() : -1; }
  const std::string& path() const { return path_; }

 private:
  void do_accept();

  boost::asio::io_context& io_;
  Handler handler_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  std::string path_;
};

// Validates a peer: true for root or our own uid.
bool peer_allowed(int fd, std::string* who);

}  // namespace hearth::control
