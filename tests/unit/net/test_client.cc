#include "test_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hearth::net::testing {

bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
               std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if (io.stopped()) io.restart();
    io.run_for(std::chrono::milliseconds(1));
  }
  return true;
}

namespace {

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

}  // namespace

std::optional<ParsedResponse> parse_response(std::string_view data, std::size_t* consumed,
                                             bool head_request, bool eof) {
  auto end = data.find("\r\n\r\n");
  if (end == std::string_view::npos) return std::nullopt;
  ParsedResponse r;
  r.head = std::string(data.substr(0, end + 4));
  std::string_view head = data.substr(0, end + 2);
  auto line_end = head.find("\r\n");
  std::string_view status_line = head.substr(0, line_end);
  if (status_line.size() < 12) return std::nullopt;
  r.status = std::stoi(std::string(status_line.substr(9, 3)));
  std::size_t pos = line_end + 2;
  while (pos < head.size()) {
    auto e = head.find("\r\n", pos);
    std::string_view line = head.substr(pos, e - pos);
    auto colon = line.find(':');
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    r.headers[lower(line.substr(0, colon))] = std::string(value);
    pos = e + 2;
  }
  std::size_t p = end + 4;
  const bool no_body = head_request || r.status < 200 || r.status == 204 || r.status == 304;
  if (no_body) {
    *consumed = p;
    return r;
  }
  if (r.headers.count("transfer-encoding")) {
    r.chunked = true;
    for (;;) {
      auto e = data.find("\r\n", p);
      if (e == std::string_view::npos) return std::nullopt;
      std::size_t size = std::stoul(std::string(data.substr(p, e - p)), nullptr, 16);
      p = e + 2;
      if (size == 0) {
        if (data.size() < p + 2) return std::nullopt;
        p += 2;
        r.complete_chunked = true;
        break;
      }
      if (data.size() < p + size + 2) return std::nullopt;
      r.body.append(data.substr(p, size));
      p += size + 2;
    }
    *consumed = p;
    return r;
  }
  if (r.headers.count("content-length")) {
    std::size_t len = std::stoul(r.headers["content-length"]);
    if (data.size() < p + len) return std::nullopt;
    r.body = std::string(data.substr(p, len));
    *consumed = p + len;
    return r;
  }
  if (!eof) return std::nullopt;
  r.body = std::string(data.substr(p));
  *consumed = data.size();
  return r;
}

TestClient::TestClient(boost::asio::io_context& io, uint16_t port, int rcvbuf) : io_(io) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
}

TestClient::TestClient(boost::asio::io_context& io, const std::string& unix_path) : io_(io) {
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strncpy(sa.sun_path, unix_path.c_str(), sizeof sa.sun_path - 1);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
}

TestClient::~TestClient() { close(); }

void TestClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool TestClient::send(std::string_view data) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!data.empty()) {
    ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      if (io_.stopped()) io_.restart();
      io_.run_for(std::chrono::milliseconds(1));
      continue;
    }
    return false;
  }
  return true;
}

void TestClient::poll() {
  if (fd_ < 0 || eof_) return;
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      received_.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) eof_ = true;
    return;
  }
}

std::vector<ParsedResponse> TestClient::read_responses(std::size_t n, bool head_request,
                                                       std::chrono::milliseconds timeout) {
  std::vector<ParsedResponse> out;
  run_until(
      io_,
      [&] {
        poll();
        out.clear();
        std::string_view rest = received_;
        while (out.size() < n) {
          std::size_t used = 0;
          auto r = parse_response(rest, &used, head_request, eof_);
          if (!r) break;
          out.push_back(std::move(*r));
          rest.remove_prefix(used);
        }
        return out.size() >= n || eof_;
      },
      timeout);
  return out;
}

bool TestClient::wait_closed(std::chrono::milliseconds timeout) {
  return run_until(io_, [&] { poll(); return eof_; }, timeout);
}

bool TestClient::wait_for(std::string_view needle, std::chrono::milliseconds timeout) {
  return run_until(io_, [&] { poll(); return received_.find(needle) != std::string::npos; }, timeout);
}

}  // namespace hearth::net::testing
