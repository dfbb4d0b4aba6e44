#include "net/listener.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <cstring>
#include <stdexcept>

#include "common/log.h"

namespace hearth::net {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

[[noreturn]] void fail(const std::string& what, const config::Bind& bind, const error_code& ec) {
  std::string where = bind.text;
  if (where.empty()) {
    where = bind.kind == config::Bind::Kind::Unix ? "unix:" + bind.path
                                                  : bind.host + ":" + std::to_string(bind.port);
  }
  throw std::runtime_error(what + " " + where + ": " + ec.message());
}

tcp::endpoint resolve_tcp(asio::io_context& io, const config::Bind& bind) {
  std::string host = bind.host;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (!ec) return tcp::endpoint(addr, bind.port);
  tcp::resolver resolver(io);
  auto results = resolver.resolve(host, std::to_string(bind.port), tcp::resolver::passive, ec);
  if (ec || results.empty()) fail("resolve", bind, ec ? ec : asio::error::host_not_found);
  return results.begin()->endpoint();
}

tcp::endpoint to_tcp(const asio::generic::stream_protocol::endpoint& g) {
  tcp::endpoint t;
  std::memcpy(t.data(), g.data(), g.size());
  t.resize(g.size());
  return t;
}

// A socket file left behind by a dead process is removed; a live one is an error.
void remove_stale_socket(const std::string& path, const config::Bind& bind) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return;
  if (!S_ISSOCK(st.st_mode)) return;  // bind will report EADDRINUSE
  asio::io_context probe_io;
  asio::local::stream_protocol::socket probe(probe_io);
  error_code ec;
  probe.connect(asio::local::stream_protocol::endpoint(path), ec);
  if (!ec) fail("bind", bind, asio::error::address_in_use);
  ::unlink(path.c_str());
}

}  // namespace

Listener::Listener(asio::io_context& io, const config::Bind& bind, bool tls, int backlog)
    : acceptor_(io), retry_timer_(io), tls_(tls) {
  error_code ec;
  asio::generic::stream_protocol::endpoint ep;
  if (bind.kind == config::Bind::Kind::Unix) {
    unix_ = true;
    unix_path_ = bind.path;
    remove_stale_socket(bind.path, bind);
    ep = asio::generic::stream_protocol::endpoint(asio::local::stream_protocol::endpoint(bind.path));
  } else {
    ep = asio::generic::stream_protocol::endpoint(resolve_tcp(io, bind));
  }
  acceptor_.open(ep.protocol(), ec);
  if (ec) fail("socket", bind, ec);
  if (!unix_) {
    acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (ec) fail("setsockopt SO_REUSEADDR", bind, ec);
  }
  acceptor_.bind(ep, ec);
  if (ec) fail("bind", bind, ec);
  acceptor_.listen(backlog, ec);
  if (ec) fail("listen", bind, ec);

  describe(bind);
}

Listener::Listener(asio::io_context& io, int fd, bool tls, int backlog) : acceptor_(io), retry_timer_(io), tls_(tls) {
  config::Bind what;
  what.text = "fd " + std::to_string(fd);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0)
    fail("getsockname", what, error_code(errno, boost::system::system_category()));
  int type = 0;
  socklen_t tlen = sizeof type;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) != 0 || type != SOCK_STREAM)
    fail("adopt", what, asio::error::invalid_argument);
  int family = ss.ss_family;
  if (family != AF_INET && family != AF_INET6 && family != AF_UNIX)
    fail("adopt", what, asio::error::address_family_not_supported);
  int listening = 0;
  socklen_t llen = sizeof listening;
  if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &llen) == 0 && !listening &&
      ::listen(fd, backlog) != 0)
    fail("listen", what, error_code(errno, boost::system::system_category()));
  error_code ec;
  acceptor_.assign(asio::generic::stream_protocol(family, family == AF_UNIX ? 0 : IPPROTO_TCP), fd, ec);
  if (ec) fail("adopt", what, ec);
  if (family == AF_UNIX) {
    unix_ = true;
    auto* sun = reinterpret_cast<sockaddr_un*>(&ss);
    unix_path_ = std::string(sun->sun_path, strnlen(sun->sun_path, sizeof sun->sun_path));
    what.path = unix_path_;
  }
  describe(what);
}

void Listener::describe(const config::Bind& bind) {
  error_code ec;
  if (unix_) {
    url_ = (tls_ ? "https+unix:" : "unix:") + unix_path_;
  } else {
    auto local = to_tcp(acceptor_.local_endpoint(ec));
    if (ec) fail("getsockname", bind, ec);
    auto addr = local.address();
    port_ = local.port();
    const std::string scheme = tls_ ? "https://" : "http://";
    url_ = addr.is_v6() ? scheme + "[" + addr.to_string() + "]:" + std::to_string(local.port())
                        : scheme + addr.to_string() + ":" + std::to_string(local.port());
  }
}

Listener::~Listener() { close(); }

void Listener::start(AcceptFn on_accept) {
  on_accept_ = std::move(on_accept);
  do_accept();
}

void Listener::close() {
  if (closed_) return;
  closed_ = true;
  error_code ec;
  acceptor_.close(ec);
  retry_timer_.cancel();
  // The socket file is left in place: a successor may already have bound the
  // same path (reload), and a stale file is removed at the next start.
}

void Listener::do_accept() {
  if (closed_) return;
  std::weak_ptr<bool> alive = alive_;
  acceptor_.async_accept([this, alive](const error_code& ec, Socket socket) {
    if (alive.expired()) return;
    on_accept(ec, std::move(socket));
  });
}

void Listener::on_accept(const error_code& ec, Socket socket) {
  if (closed_) {
    // The kernel accepted this client before close() (its completion was already queued):
    // a client's connection, not ours to drop. It is served like one accepted just
    // before the drain (one request, Connection: close).
    if (!ec && socket.is_open() && on_accept_) on_accept_(std::move(socket));
    return;
  }
  if (ec) {
    if (ec == asio::error::operation_aborted) return;
    // EMFILE/ENFILE/ENOBUFS: back off briefly instead of spinning.
    HLOG(Warn, "accept on " << url_ << ": " << ec.message());
    std::weak_ptr<bool> alive = alive_;
    retry_timer_.expires_after(std::chrono::milliseconds(100));
    retry_timer_.async_wait([this, alive](const error_code& e) {
      if (alive.expired() || e) return;
      do_accept();
    });
    return;
  }
  on_accept_(std::move(socket));
  do_accept();
}

}  // namespace hearth::net
