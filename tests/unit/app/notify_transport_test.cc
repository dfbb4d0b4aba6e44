// SdNotifyTransport against a real datagram socket standing in for systemd's.
// Built twice: in unit_app (libsystemd's sd_notify, when found) and in
// unit_app_raw_notify (the built-in protocol, HEARTH_HAVE_LIBSYSTEMD unset).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "app/systemd_notify.h"

namespace hearth::app {
namespace {

struct FakeSystemd {
  int fd = -1;
  std::string path;
  explicit FakeSystemd(bool abstract) {
    fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::string name = "hearth-notify-test-" + std::to_string(::getpid());
    socklen_t len;
    if (abstract) {
      path = "@" + name;
      std::memcpy(a.sun_path + 1, name.data(), name.size());
      len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    } else {
      path = "/tmp/" + name + ".sock";
      ::unlink(path.c_str());
      std::memcpy(a.sun_path, path.data(), path.size());
      len = sizeof a;
    }
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), len), 0) << strerror(errno);
    timeval tv{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~FakeSystemd() {
    ::close(fd);
    if (path[0] == '/') ::unlink(path.c_str());
  }
  std::string recv() {
    char buf[1024];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  }
};

TEST(NotifyTransport, SendsToAPathSocket) {
  FakeSystemd sd(false);
  ::setenv("NOTIFY_SOCKET", sd.path.c_str(), 1);
  SdNotifyTransport t;  // sd_notify() reads $NOTIFY_SOCKET on every call
  ASSERT_TRUE(t.enabled());
  EXPECT_TRUE(t.send("READY=1\nSTATUS=serving"));
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_EQ(sd.recv(), "READY=1\nSTATUS=serving");
}

TEST(NotifyTransport, SendsToAnAbstractSocket) {
  FakeSystemd sd(true);
  ::setenv("NOTIFY_SOCKET", sd.path.c_str(), 1);
  SdNotifyTransport t;
  EXPECT_TRUE(t.send("STOPPING=1"));
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_EQ(sd.recv(), "STOPPING=1");
}

TEST(NotifyTransport, WithoutNotifySocketIsDisabled) {
  ::unsetenv("NOTIFY_SOCKET");
  SdNotifyTransport t;
  EXPECT_FALSE(t.enabled());
  EXPECT_TRUE(t.send("READY=1"));  // a no-op, not an error
}

TEST(NotifyTransport, WatchdogFromTheEnvironment) {
  ::setenv("WATCHDOG_USEC", "30000000", 1);
  ::unsetenv("WATCHDOG_PID");
  {
    SdNotifyTransport t;
    ASSERT_TRUE(t.watchdog());
    EXPECT_EQ(*t.watchdog(), std::chrono::seconds(30));
  }
  ::setenv("WATCHDOG_PID", std::to_string(::getpid() + 1).c_str(), 1);  // someone else's
  {
    SdNotifyTransport t;
    EXPECT_FALSE(t.watchdog());
  }
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  {
    SdNotifyTransport t;
    EXPECT_TRUE(t.watchdog());
  }
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
}

}  // namespace
}  // namespace hearth::app
