#pragma once
// Raw-socket HTTP client for driving HttpServer in tests, plus a tiny
// response parser. The io_context runs in the test thread: every wait pumps
// it with a deadline (no sleeps).
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::net::testing {

// Runs `io` until `done()` or the deadline; returns done().
bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
               std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

struct ParsedResponse {
  int status = 0;
  std::string head;                           // status line + headers, raw
  std::map<std::string, std::string> headers;  // lower-case names (last wins)
  std::string body;                           // de-chunked
  bool chunked = false;
  bool complete_chunked = false;              // saw the final 0 chunk
};

// Parses one response from the front of `data`. `head_request`: no body.
// `eof`: the connection is closed (close-delimited bodies end here).
// Returns nullopt when incomplete; sets *consumed.
std::optional<ParsedResponse> parse_response(std::string_view data, std::size_t* consumed,
                                             bool head_request = false, bool eof = false);

class TestClient {
 public:
  // TCP 127.0.0.1; rcvbuf > 0 sets SO_RCVBUF before connecting.
  TestClient(boost::asio::io_context& io, uint16_t port, int rcvbuf = 0);
  TestClient(boost::asio::io_context& io, const std::string& unix_path);
  ~TestClient();
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  bool connected() const { return fd_ >= 0; }
  // Sends everything, pumping the io_context while the socket is full.
  bool send(std::string_view data);
  // Non-blocking read of whatever is available.
  void poll();
  // Pumps until `n` responses can be parsed (or the deadline).
  std::vector<ParsedResponse> read_responses(std::size_t n, bool head_request = false,
                                             std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  // Pumps until the server closed the connection.
  bool wait_closed(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  // Pumps until `received()` contains `needle`.
  bool wait_for(std::string_view needle, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  void close();

  std::string& received() { return received_; }
  bool eof() const { return eof_; }

 private:
  boost::asio::io_context& io_;
  int fd_ = -1;
  std::string received_;
  bool eof_ = false;
};

}  // namespace hearth::net::testing
