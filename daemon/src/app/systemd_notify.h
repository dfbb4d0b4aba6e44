#pragma once
// Tells a service manager (systemd, Type=notify) what the daemon is doing:
// READY=1 once the first workers serve, RELOADING=1 / READY=1 around a rolling
// reload, STOPPING=1 on shutdown, MAINPID= when a binary upgrade hands the
// service to a new process, STATUS= lines, and WATCHDOG=1 every
// WATCHDOG_USEC/2. Without $NOTIFY_SOCKET every call is a no-op and no timer
// runs. The transport is an interface so the policy is unit-tested with a fake.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace hearth::app {

// Where notifications go.
class NotifyTransport {
 public:
  virtual ~NotifyTransport() = default;
  // False when there is no service manager to talk to ($NOTIFY_SOCKET unset).
  virtual bool enabled() const = 0;
  // Sends one datagram ("READY=1\nSTATUS=..."); false on a send error.
  virtual bool send(std::string_view message) = 0;
  // The watchdog period systemd expects pings within (WATCHDOG_USEC), if any.
  virtual std::optional<std::chrono::microseconds> watchdog() const = 0;
};

// The real one: libsystemd's sd_notify()/sd_watchdog_enabled() when built with
// it, else the same datagram protocol written here (abstract and path sockets).
class SdNotifyTransport final : public NotifyTransport {
 public:
  SdNotifyTransport();
  bool enabled() const override { return enabled_; }
  bool send(std::string_view message) override;
  std::optional<std::chrono::microseconds> watchdog() const override { return watchdog_; }

 private:
  bool enabled_ = false;
  std::optional<std::chrono::microseconds> watchdog_;
};

// Ping interval for a watchdog period: half of it (systemd's advice), at least 1 ms.
std::chrono::milliseconds watchdog_interval(std::chrono::microseconds period);

// "RELOADING=1\nMONOTONIC_USEC=123": CLOCK_MONOTONIC now, as systemd 253+ wants.
std::string reloading_message(uint64_t monotonic_usec);

class ServiceNotifier {
 public:
  // What the daemon's state is, for STATUS=: "4/4 workers ready, generation 2".
  using StatusFn = std::function<std::string()>;
  ServiceNotifier(boost::asio::io_context& io, NotifyTransport& transport, StatusFn status);
  ~ServiceNotifier();
  ServiceNotifier(const ServiceNotifier&) = delete;
  ServiceNotifier& operator=(const ServiceNotifier&) = delete;

  // Starts the watchdog/status timer (when the transport is enabled).
  void start();
  // The first workers serve: READY=1 once. Later calls only refresh STATUS.
  void ready();
  // A rolling reload started / finished (ok or not).
  void reloading();
  void reloaded();
  // Graceful shutdown began: STOPPING=1, the timer stops.
  void stopping();
  // A binary upgrade succeeded: the service is now new_pid's. This process stops
  // talking to the service manager (it is no longer the main process).
  void handed_over(int new_pid);
  // Sends STATUS= if it changed since the last one.
  void refresh_status();
  bool is_ready() const { return ready_sent_; }

 private:
  void do_tick();
  void send(const std::string& message);

  boost::asio::io_context& io_;
  NotifyTransport& transport_;
  StatusFn status_;
  boost::asio::steady_timer timer_;
  std::chrono::milliseconds interval_{0};
  std::string last_status_;
  bool ready_sent_ = false;
  bool reloading_ = false;
  bool done_ = false;  // stopping or handed over: nothing more is sent
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace hearth::app
