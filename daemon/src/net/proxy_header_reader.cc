#include "net/proxy_header_reader.h"

#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <cerrno>
#include <cstring>
#include <span>

#include "common/log.h"
#include "net/http_connection.h"
#include "net/ip_allow_list.h"
#include "net/proxy_protocol.h"
#include "net/tls_handshake.h"

namespace hearth::net {

namespace asio = boost::asio;
using boost::system::error_code;

ProxyHeaderReader::ProxyHeaderReader(Stream::Socket socket, std::shared_ptr<ServerState> state, bool tls)
    : socket_(std::move(socket)), state_(std::move(state)), tls_(tls), timer_(socket_.get_executor()) {}

ProxyHeaderReader::~ProxyHeaderReader() { state_->proxy_readers.erase(this); }

void ProxyHeaderReader::start() {
  state_->proxy_readers.insert(this);
  error_code ec;
  auto peer = socket_.remote_endpoint(ec);
  if (ec) return close();  // already gone
  const int family = peer.data()->sa_family;
  if (family != AF_UNIX && !state_->proxy_allow->allows(peer.data())) {
    asio::ip::tcp::endpoint t;
    std::memcpy(t.data(), peer.data(), peer.size());
    t.resize(peer.size());
    return refuse("peer " + t.address().to_string() + " is not in proxy_allow_ips");
  }
  timer_.expires_after(state_->limits.header_timeout);
  timer_.async_wait([weak = weak_from_this()](const error_code& e) {
    auto self = weak.lock();
    if (e || !self || self->phase_ != Phase::Reading) return;
    self->refuse("no complete PROXY protocol header within header_timeout");
  });
  buf_.resize(kProxyV2MaxLength);
  do_wait();
}

void ProxyHeaderReader::do_wait() {
  socket_.async_wait(Stream::Socket::wait_read,
                     [self = shared_from_this()](const error_code& ec) { self->on_readable(ec); });
}

void ProxyHeaderReader::on_readable(const error_code& ec) {
  if (phase_ != Phase::Reading) return;
  if (ec) return close();
  const int fd = socket_.native_handle();
  const std::size_t have = consumed_;  // header bytes already taken, at the front of buf_
  ssize_t n = ::recv(fd, buf_.data() + have, buf_.size() - have, MSG_PEEK | MSG_DONTWAIT);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return do_wait();
    return close();
  }
  if (n == 0) return close();  // the peer left before finishing the header
  const std::size_t seen = have + static_cast<std::size_t>(n);
  ProxyParse p = parse_proxy_header(std::span<const uint8_t>(buf_.data(), seen));
  if (p.status == ProxyParse::Status::Invalid) return refuse(p.error);
  // NeedMore: everything peeked is header; Done: exactly the rest of the header.
  const std::size_t take = p.status == ProxyParse::Status::Done ? p.length - have : static_cast<std::size_t>(n);
  ssize_t got = ::recv(fd, buf_.data() + have, take, MSG_DONTWAIT);
  if (got != static_cast<ssize_t>(take)) return close();  // peeked bytes are queued: cannot happen short
  consumed_ = have + take;
  if (p.status == ProxyParse::Status::NeedMore) return do_wait();

  phase_ = Phase::Done;
  timer_.cancel();
  state_->proxy_readers.erase(this);
  buf_ = {};
  if (state_->draining) return close();
  const bool proxied = p.header.command == ProxyHeader::Command::Proxy && !p.header.source_addr.empty();
  std::unique_ptr<PerIpConnections::Slot> slot;
  if (state_->per_ip) {
    // The limit counts the client the header names, not the balancer.
    error_code e;
    auto peer = socket_.remote_endpoint(e);
    std::string addr = proxied ? p.header.source_addr : (e ? std::string() : ip_text(peer.data()));
    if (!addr.empty()) {
      slot = state_->per_ip->acquire(addr);
      if (!slot) {
        HLOG_CTX(Debug, state_->name, "connection for " << addr << " closed: max_connections_per_ip reached");
        return close();
      }
    }
  }
  Stream stream = tls_ ? Stream(std::move(socket_), state_->tls_context) : Stream(std::move(socket_));
  if (slot) stream.hold(std::move(slot));
  if (proxied) stream.set_proxied_client(std::move(p.header.source_addr), p.header.source_port);
  if (tls_) {
    std::make_shared<TlsHandshake>(std::move(stream), state_)->start();
  } else {
    HttpConnection::create(std::move(stream), state_)->start();
  }
}

void ProxyHeaderReader::refuse(const std::string& why) {
  ++state_->proxy_protocol_refused;
  HLOG_CTX(Info, state_->name, "PROXY protocol: connection refused: " << why);
  close();
}

void ProxyHeaderReader::abort() { close(); }

void ProxyHeaderReader::close() {
  phase_ = Phase::Done;
  timer_.cancel();
  state_->proxy_readers.erase(this);
  error_code ignored;
  socket_.close(ignored);
}

}  // namespace hearth::net
