#include "app/systemd_notify.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <string>
#include <vector>

namespace hearth::app {
namespace {

class FakeTransport : public NotifyTransport {
 public:
  bool on = true;
  std::optional<std::chrono::microseconds> wd;
  std::vector<std::string> sent;
  bool enabled() const override { return on; }
  bool send(std::string_view m) override {
    sent.emplace_back(m);
    return true;
  }
  std::optional<std::chrono::microseconds> watchdog() const override { return wd; }
};

TEST(WatchdogInterval, HalfThePeriodAtLeastOneMs) {
  EXPECT_EQ(watchdog_interval(std::chrono::seconds(30)), std::chrono::milliseconds(15000));
  EXPECT_EQ(watchdog_interval(std::chrono::microseconds(200000)), std::chrono::milliseconds(100));
  EXPECT_EQ(watchdog_interval(std::chrono::microseconds(10)), std::chrono::milliseconds(1));
}

TEST(ReloadingMessage, CarriesMonotonicUsec) {
  EXPECT_EQ(reloading_message(123456), "RELOADING=1\nMONOTONIC_USEC=123456");
}

TEST(ServiceNotifier, ReadyOnceThenStatusOnlyWhenItChanges) {
  boost::asio::io_context io;
  FakeTransport t;
  std::string status = "serving: 1/2 workers ready";
  ServiceNotifier n(io, t, [&] { return status; });
  n.ready();
  ASSERT_EQ(t.sent.size(), 1u);
  EXPECT_EQ(t.sent[0], "READY=1\nSTATUS=serving: 1/2 workers ready");
  n.ready();  // same status: nothing
  EXPECT_EQ(t.sent.size(), 1u);
  status = "serving: 2/2 workers ready";
  n.ready();
  ASSERT_EQ(t.sent.size(), 2u);
  EXPECT_EQ(t.sent[1], "STATUS=serving: 2/2 workers ready");
  EXPECT_TRUE(n.is_ready());
}

TEST(ServiceNotifier, ReloadingThenReadyAndJoinedReloadsSendOnce) {
  boost::asio::io_context io;
  FakeTransport t;
  ServiceNotifier n(io, t, [] { return std::string("serving"); });
  n.ready();
  n.reloading();
  n.reloading();  // a second `hearthctl reload` joins the first
  n.refresh_status();  // nothing while reloading
  n.reloaded();
  n.reloaded();
  ASSERT_EQ(t.sent.size(), 3u);
  EXPECT_EQ(t.sent[1].rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0u) << t.sent[1];
  EXPECT_NE(t.sent[1].find("\nSTATUS=reloading"), std::string::npos);
  EXPECT_EQ(t.sent[2], "READY=1\nSTATUS=serving");
}

TEST(ServiceNotifier, StoppingIsTheLastMessage) {
  boost::asio::io_context io;
  FakeTransport t;
  ServiceNotifier n(io, t, [] { return std::string("x"); });
  n.ready();
  n.stopping();
  n.ready();
  n.refresh_status();
  ASSERT_EQ(t.sent.size(), 2u);
  EXPECT_EQ(t.sent[1], "STOPPING=1\nSTATUS=stopping");
}

TEST(ServiceNotifier, HandedOverNamesTheNewMainPidFirst) {
  boost::asio::io_context io;
  FakeTransport t;
  ServiceNotifier n(io, t, [] { return std::string("x"); });
  n.ready();
  n.handed_over(4242);
  n.stopping();  // the old daemon's shutdown is not the service's
  ASSERT_EQ(t.sent.size(), 2u);
  EXPECT_EQ(t.sent[1].rfind("MAINPID=4242\nREADY=1\n", 0), 0u) << t.sent[1];
}

TEST(ServiceNotifier, DisabledTransportGetsNothingAndNoTimer) {
  boost::asio::io_context io;
  FakeTransport t;
  t.on = false;
  t.wd = std::chrono::milliseconds(2);
  ServiceNotifier n(io, t, [] { return std::string("x"); });
  n.start();
  n.ready();
  io.run_for(std::chrono::milliseconds(20));
  EXPECT_TRUE(t.sent.empty());
}

TEST(ServiceNotifier, WatchdogPingsEveryHalfPeriod) {
  boost::asio::io_context io;
  FakeTransport t;
  t.wd = std::chrono::milliseconds(20);  // ping every 10 ms
  ServiceNotifier n(io, t, [] { return std::string("x"); });
  n.start();
  io.run_for(std::chrono::milliseconds(105));
  int pings = 0;
  for (auto& m : t.sent) pings += m == "WATCHDOG=1";
  EXPECT_GE(pings, 3);
  EXPECT_LE(pings, 11);
  n.stopping();
  std::size_t before = t.sent.size();
  io.restart();
  io.run_for(std::chrono::milliseconds(40));
  EXPECT_EQ(t.sent.size(), before);  // no pings after STOPPING
}

}  // namespace
}  // namespace hearth::app
