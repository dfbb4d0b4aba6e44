#include "control/control_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <stdexcept>

#include "common/log.h"

namespace hearth::control {

namespace asio = boost::asio;
using asio::local::stream_protocol;

bool peer_allowed(int fd, std::string* who) {
  struct ucred cred {};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return false;
  if (who) *who = "uid " + std::to_string(cred.uid) + " pid " + std::to_string(cred.pid);
  return cred.uid == 0 || cred.uid == ::geteuid();
}

ControlServer::ControlServer(asio::io_context& io, Handler handler)
    : io_(io), handler_(std::move(handler)), acceptor_(io) {}

ControlServer::~ControlServer() { close(); }

void ControlServer::listen(const std::string& path) {
  // A stale socket file from a dead daemon is replaced; a live one is an error.
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) throw std::runtime_error("control socket " + path + ": exists and is not a socket");
    stream_protocol::socket probe(io_);
    boost::system::error_code ec;
    probe.connect(stream_protocol::endpoint(path), ec);
    if (!ec) throw std::runtime_error("control socket " + path + ": another hearthd is listening there");
    ::unlink(path.c_str());
  }
  mode_t old = ::umask(0077);  // created 0600 from the start: no window for other users
  boost::system::error_code ec;
  acceptor_.open(stream_protocol(), ec);
  if (!ec) acceptor_.bind(stream_protocol::endpoint(path), ec);
  ::umask(old);
  if (!ec) acceptor_.listen(16, ec);
  if (ec) throw std::runtime_error("control socket " + path + ": " + ec.message());
  ::chmod(path.c_str(), 0600);
  path_ = path;
  HLOG_CTX(Info, "control", "control socket at " << path);
  do_accept();
}

void ControlServer::adopt(int fd, const std::string& path) {
  boost::system::error_code ec;
  acceptor_.assign(stream_protocol(), fd, ec);
  if (ec) throw std::runtime_error("control socket " + path + " (inherited fd " + std::to_string(fd) + "): " + ec.message());
  path_ = path;
  HLOG_CTX(Info, "control", "control socket at " << path << " (inherited fd " << fd << ")");
  do_accept();
}

void ControlServer::release() {
  boost::system::error_code ec;
  acceptor_.close(ec);
}

void ControlServer::close() {
  if (!acceptor_.is_open()) return;
  boost::system::error_code ec;
  acceptor_.close(ec);
  if (!path_.empty()) ::unlink(path_.c_str());
}

namespace {

struct Session : std::enable_shared_from_this<Session> {
  explicit Session(stream_protocol::socket s) : sock(std::move(s)) {}
  stream_protocol::socket sock;
  asio::streambuf buf{4096};
  std::string out;
};

}  // namespace

void ControlServer::do_accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, stream_protocol::socket sock) {
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      HLOG_CTX(Warn, "control", "accept failed: " << ec.message());
      if (acceptor_.is_open()) do_accept();
      return;
    }
    std::string who;
    auto session = std::make_shared<Session>(std::move(sock));
    if (!peer_allowed(session->sock.native_handle(), &who)) {
      HLOG_CTX(Warn, "control", "refused a command from " << who << " (only root or the daemon's uid)");
      // Read (and ignore) the command first, so the client's send succeeds and it reads the answer.
      asio::async_read_until(session->sock, session->buf, '\n', [session](const boost::system::error_code&, std::size_t) {
        session->out = "{\"ok\":false,\"error\":\"permission denied\"}\n";
        asio::async_write(session->sock, asio::buffer(session->out), [session](auto, auto) {});
      });
      do_accept();
      return;
    }
    asio::async_read_until(session->sock, session->buf, '\n',
                           [this, session](const boost::system::error_code& ec, std::size_t n) {
                             if (ec) return;
                             std::string line(asio::buffers_begin(session->buf.data()),
                                              asio::buffers_begin(session->buf.data()) + static_cast<long>(n) - 1);
                             handler_(line, [session](std::string json) {
                               session->out = std::move(json);
                               if (session->out.empty() || session->out.back() != '\n') session->out += '\n';
                               asio::async_write(session->sock, asio::buffer(session->out), [session](auto, auto) {});
                             });
                           });
    do_accept();
  });
}

}  // namespace hearth::control
