#include "app/systemd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "common/log.h"

#ifdef HEARTH_HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace hearth::app {

namespace {

constexpr std::chrono::milliseconds kStatusInterval{5000};  // STATUS refresh without a watchdog

uint64_t monotonic_usec() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

#ifndef HEARTH_HAVE_LIBSYSTEMD
// The notify protocol without libsystemd: one datagram to $NOTIFY_SOCKET
// ("/path" or "@abstract").
bool raw_notify(std::string_view message) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (!path || !*path) return true;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::size_t len = std::strlen(path);
  if ((path[0] != '/' && path[0] != '@') || len >= sizeof addr.sun_path) return false;
  std::memcpy(addr.sun_path, path, len);
  if (path[0] == '@') addr.sun_path[0] = '\0';
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  socklen_t alen = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
  ssize_t n = ::sendto(fd, message.data(), message.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr), alen);
  ::close(fd);
  return n == static_cast<ssize_t>(message.size());
}
#endif

}  // namespace

SdNotifyTransport::SdNotifyTransport() {
  const char* sock = std::getenv("NOTIFY_SOCKET");
  enabled_ = sock && *sock;
#ifdef HEARTH_HAVE_LIBSYSTEMD
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) watchdog_ = std::chrono::microseconds(usec);
#else
  const char* wusec = std::getenv("WATCHDOG_USEC");
  const char* wpid = std::getenv("WATCHDOG_PID");
  bool ours = !wpid || !*wpid || std::strtol(wpid, nullptr, 10) == ::getpid();
  if (wusec && *wusec && ours) {
    char* end = nullptr;
    unsigned long long v = std::strtoull(wusec, &end, 10);
    if (end && *end == '\0' && v > 0) watchdog_ = std::chrono::microseconds(v);
  }
#endif
}

bool SdNotifyTransport::send(std::string_view message) {
  if (!enabled_) return true;
#ifdef HEARTH_HAVE_LIBSYSTEMD
  std::string m(message);
  return sd_notify(0, m.c_str()) >= 0;
#else
  return raw_notify(message);
#endif
}

std::chrono::milliseconds watchdog_interval(std::chrono::microseconds period) {
  auto half = std::chrono::duration_cast<std::chrono::milliseconds>(period / 2);
  return std::max(half, std::chrono::milliseconds(1));
}

std::string reloading_message(uint64_t usec) {
  return "RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec);
}

ServiceNotifier::ServiceNotifier(boost::asio::io_context& io, NotifyTransport& transport, StatusFn status)
    : io_(io), transport_(transport), status_(std::move(status)), timer_(io) {}

ServiceNotifier::~ServiceNotifier() { timer_.cancel(); }

void ServiceNotifier::start() {
  if (!transport_.enabled()) return;
  if (auto wd = transport_.watchdog()) {
    interval_ = watchdog_interval(*wd);
    HLOG_CTX(Info, "systemd", "watchdog enabled: pinging every " << interval_.count() << " ms");
  } else {
    interval_ = kStatusInterval;
  }
  do_tick();
}

void ServiceNotifier::do_tick() {
  std::weak_ptr<bool> alive = alive_;
  timer_.expires_after(interval_);
  timer_.async_wait([this, alive](const boost::system::error_code& ec) {
    if (ec || alive.expired() || done_) return;
    if (transport_.watchdog()) send("WATCHDOG=1");
    refresh_status();
    do_tick();
  });
}

void ServiceNotifier::send(const std::string& message) {
  if (!transport_.enabled() || done_) return;
  if (!transport_.send(message)) HLOG_CTX(Warn, "systemd", "sd_notify failed: " << message);
}

void ServiceNotifier::ready() {
  if (ready_sent_) return refresh_status();
  ready_sent_ = true;
  last_status_ = status_ ? status_() : std::string();
  send("READY=1\nSTATUS=" + last_status_);
}

void ServiceNotifier::reloading() {
  if (reloading_) return;
  reloading_ = true;
  send(reloading_message(monotonic_usec()) + "\nSTATUS=reloading");
  last_status_ = "reloading";
}

void ServiceNotifier::reloaded() {
  if (!reloading_) return;
  reloading_ = false;
  last_status_ = status_ ? status_() : std::string();
  send("READY=1\nSTATUS=" + last_status_);
}

void ServiceNotifier::stopping() {
  send("STOPPING=1\nSTATUS=stopping");
  done_ = true;
  timer_.cancel();
}

void ServiceNotifier::handed_over(int new_pid) {
  // MAINPID first: systemd then takes READY=1 as the new process's.
  send("MAINPID=" + std::to_string(new_pid) + "\nREADY=1\nSTATUS=upgraded: serving from pid " +
       std::to_string(new_pid));
  done_ = true;
  timer_.cancel();
}

void ServiceNotifier::refresh_status() {
  if (!status_ || done_ || reloading_) return;
  std::string s = status_();
  if (s == last_status_) return;
  last_status_ = s;
  send("STATUS=" + s);
}

}  // namespace hearth::app
