#include "app/socket_activation.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "config/bind.h"

namespace hearth::app {
namespace {

config::Bind tcp(const std::string& host, uint16_t port) {
  config::Bind b;
  b.kind = config::Bind::Kind::Tcp;
  b.host = host;
  b.port = port;
  b.text = host + ":" + std::to_string(port);
  return b;
}

config::Bind unix_at(const std::string& path) {
  config::Bind b;
  b.kind = config::Bind::Kind::Unix;
  b.path = path;
  return b;
}

InheritedSocket sock(int fd, std::string name, config::Bind a) { return {fd, std::move(name), std::move(a)}; }

TEST(ParseListenEnv, NothingPassed) {
  std::string err;
  EXPECT_FALSE(parse_listen_env({}, 10, 1, &err));
  EXPECT_TRUE(err.empty());
}

TEST(ParseListenEnv, SystemdStyle) {
  std::string err;
  auto e = parse_listen_env({{"LISTEN_PID", "10"}, {"LISTEN_FDS", "2"}, {"LISTEN_FDNAMES", "web:admin"}}, 10, 1, &err);
  ASSERT_TRUE(e) << err;
  EXPECT_EQ(e->first_fd, 3);
  EXPECT_EQ(e->count, 2);
  EXPECT_EQ(e->names, (std::vector<std::string>{"web", "admin"}));
  EXPECT_FALSE(e->upgrade);
}

TEST(ParseListenEnv, ForAnotherPidIsIgnored) {
  std::string err;
  EXPECT_FALSE(parse_listen_env({{"LISTEN_PID", "11"}, {"LISTEN_FDS", "1"}}, 10, 1, &err));
  EXPECT_TRUE(err.empty());
  EXPECT_FALSE(parse_listen_env({{"LISTEN_FDS", "1"}}, 10, 1, &err));  // no owner at all
}

TEST(ParseListenEnv, UpgradeNeedsTheParentPid) {
  std::string err;
  std::map<std::string, std::string> env{{"HEARTH_UPGRADE_FROM", "7"},
                                         {"LISTEN_FDS", "1"},
                                         {"LISTEN_FDNAMES", "http"},
                                         {"HEARTH_UPGRADE_FD", "4"}};
  auto e = parse_listen_env(env, 10, 7, &err);
  ASSERT_TRUE(e) << err;
  EXPECT_TRUE(e->upgrade);
  EXPECT_EQ(e->upgrade_ready_fd, 4);
  EXPECT_FALSE(parse_listen_env(env, 10, 8, &err));  // our parent is someone else now
}

TEST(ParseListenEnv, MalformedIsAnError) {
  std::string err;
  EXPECT_FALSE(parse_listen_env({{"LISTEN_PID", "10"}, {"LISTEN_FDS", "two"}}, 10, 1, &err));
  EXPECT_NE(err.find("LISTEN_FDS=two"), std::string::npos) << err;
  EXPECT_FALSE(parse_listen_env({{"LISTEN_PID", "10"}, {"LISTEN_FDS", "2"}, {"LISTEN_FDNAMES", "a"}}, 10, 1, &err));
  EXPECT_NE(err.find("LISTEN_FDNAMES names 1"), std::string::npos) << err;
}

TEST(BindMatches, AddressPortAndPortZero) {
  EXPECT_TRUE(bind_matches(tcp("127.0.0.1", 8000), tcp("127.0.0.1", 8000)));
  EXPECT_TRUE(bind_matches(tcp("localhost", 8000), tcp("127.0.0.1", 8000)));
  EXPECT_TRUE(bind_matches(tcp("127.0.0.1", 0), tcp("127.0.0.1", 41234)));
  EXPECT_FALSE(bind_matches(tcp("127.0.0.1", 8000), tcp("127.0.0.1", 8001)));
  EXPECT_FALSE(bind_matches(tcp("0.0.0.0", 8000), tcp("127.0.0.1", 8000)));
  EXPECT_TRUE(bind_matches(tcp("::1", 80), tcp("::1", 80)));
  EXPECT_TRUE(bind_matches(tcp("[::1]", 80), tcp("::1", 80)));
  EXPECT_TRUE(bind_matches(unix_at("/run/h.sock"), unix_at("/run/h.sock")));
  EXPECT_FALSE(bind_matches(unix_at("/run/h.sock"), tcp("127.0.0.1", 80)));
}

TEST(PlanActivation, UpgradeNamesSortAppAdminAndControl) {
  std::vector<InheritedSocket> in{sock(3, "http", tcp("127.0.0.1", 4000)), sock(4, "admin", tcp("127.0.0.1", 4001)),
                                  sock(5, "control", unix_at("/run/hearthd.sock"))};
  // Both configured with port 0: only the names tell app from admin.
  auto p = plan_activation({tcp("127.0.0.1", 0)}, tcp("127.0.0.1", 0), "/run/hearthd.sock", in);
  EXPECT_EQ(p.app, std::vector<int>{0});
  EXPECT_EQ(p.admin, 1);
  EXPECT_EQ(p.control, 2);
  EXPECT_TRUE(p.extra_app.empty());
  EXPECT_TRUE(p.unused.empty());
}

TEST(PlanActivation, UnmatchedBindIsBoundAndUnmatchedSocketServedToo) {
  std::vector<InheritedSocket> in{sock(3, "hearthd.socket", tcp("0.0.0.0", 80))};
  auto p = plan_activation({tcp("127.0.0.1", 8000)}, std::nullopt, "/run/x.sock", in);
  EXPECT_EQ(p.app, std::vector<int>{-1});
  EXPECT_EQ(p.extra_app, std::vector<int>{0});
}

TEST(PlanActivation, BindsTakeDistinctSockets) {
  std::vector<InheritedSocket> in{sock(3, "", tcp("127.0.0.1", 8001)), sock(4, "", tcp("127.0.0.1", 8000))};
  auto p = plan_activation({tcp("127.0.0.1", 8000), tcp("127.0.0.1", 8001), tcp("127.0.0.1", 8002)}, std::nullopt,
                           "", in);
  EXPECT_EQ(p.app, (std::vector<int>{1, 0, -1}));
}

TEST(PlanActivation, AdminByExactAddressWithoutNames) {
  std::vector<InheritedSocket> in{sock(3, "", tcp("127.0.0.1", 8000)), sock(4, "", tcp("127.0.0.1", 9100))};
  auto p = plan_activation({tcp("127.0.0.1", 8000)}, tcp("127.0.0.1", 9100), "", in);
  EXPECT_EQ(p.app, std::vector<int>{0});
  EXPECT_EQ(p.admin, 1);
}

TEST(PlanActivation, AdminOrControlNothingWantsIsUnused) {
  std::vector<InheritedSocket> in{sock(3, "admin", tcp("127.0.0.1", 9100)),
                                  sock(4, "control", unix_at("/old/path.sock"))};
  auto p = plan_activation({tcp("127.0.0.1", 8000)}, std::nullopt, "/new/path.sock", in);
  EXPECT_EQ(p.admin, -1);
  EXPECT_EQ(p.control, -1);
  EXPECT_EQ(p.unused, (std::vector<int>{1, 0}));
  EXPECT_TRUE(p.extra_app.empty());
}

TEST(InspectInherited, ReadsAddressesAndRejectsNonSockets) {
  // Put a listening TCP socket and a Unix socket at fds above stdio.
  int t = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(t, reinterpret_cast<sockaddr*>(&sin), sizeof sin), 0);
  ASSERT_EQ(::listen(t, 4), 0);
  socklen_t len = sizeof sin;
  ::getsockname(t, reinterpret_cast<sockaddr*>(&sin), &len);
  int first = ::fcntl(t, F_DUPFD, 200);
  ASSERT_EQ(first, 200);
  ListenEnv env;
  env.first_fd = first;
  env.count = 1;
  env.names = {"http"};
  std::string err;
  auto got = inspect_inherited(env, &err);
  ASSERT_EQ(got.size(), 1u) << err;
  EXPECT_EQ(got[0].address.host, "127.0.0.1");
  EXPECT_EQ(got[0].address.port, ntohs(sin.sin_port));
  EXPECT_EQ(got[0].name, "http");
  EXPECT_TRUE(::fcntl(first, F_GETFD) & FD_CLOEXEC);

  int pipefd[2];
  ASSERT_EQ(::pipe(pipefd), 0);
  int p = ::fcntl(pipefd[0], F_DUPFD, 210);
  env.first_fd = p;
  got = inspect_inherited(env, &err);
  EXPECT_TRUE(got.empty());
  EXPECT_NE(err.find("is not a stream socket"), std::string::npos) << err;
  for (int fd : {t, first, pipefd[0], pipefd[1], p}) ::close(fd);
}

}  // namespace
}  // namespace hearth::app
