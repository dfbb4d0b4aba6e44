#include "control/control_server.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "control/default_socket.h"
#include "control/json.h"

namespace hearth::control {
namespace {

namespace asio = boost::asio;
using asio::local::stream_protocol;
using ms = std::chrono::milliseconds;

bool run_until(asio::io_context& io, const std::function<bool()>& pred, ms timeout = ms{3000}) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if (io.stopped()) io.restart();
    io.run_one_for(ms{2});
  }
  return true;
}

class ControlServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hearth-control-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/hearthd.sock";
  }
  void TearDown() override {
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }

  // Sends one command line and returns the reply line (without '\n'), running io meanwhile.
  std::string roundtrip(const std::string& line) {
    stream_protocol::socket client(io_);
    boost::system::error_code ec;
    client.connect(stream_protocol::endpoint(path_), ec);
    if (ec) return "connect failed: " + ec.message();
    bool wrote = false, done = false;
    std::string out = line;
    asio::streambuf buf;
    asio::async_write(client, asio::buffer(out), [&](boost::system::error_code e, std::size_t) { wrote = !e; });
    std::string reply;
    asio::async_read_until(client, buf, '\n', [&](boost::system::error_code e, std::size_t n) {
      done = true;
      if (e) {
        reply = "read failed: " + e.message();
        return;
      }
      reply.assign(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + static_cast<long>(n));
    });
    if (!run_until(io_, [&] { return done; })) return "timed out";
    EXPECT_TRUE(wrote);
    return reply;
  }

  // A socket file nobody listens on (what a killed daemon leaves behind).
  void make_stale_socket() {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::close(fd);
    struct stat st {};
    ASSERT_EQ(::lstat(path_.c_str(), &st), 0);
    ASSERT_TRUE(S_ISSOCK(st.st_mode));
  }

  asio::io_context io_;
  std::string dir_, path_;
  std::vector<std::string> commands_;
};

TEST_F(ControlServerTest, CommandGetsTheHandlersReply) {
  ControlServer server(io_, [&](std::string_view cmd, ControlServer::Reply reply) {
    commands_.emplace_back(cmd);
    reply(R"({"ok":true,"echo":")" + std::string(cmd) + "\"}");
  });
  server.listen(path_);
  EXPECT_EQ(server.path(), path_);
  std::string reply = roundtrip("scale 4\n");
  EXPECT_EQ(reply, "{\"ok\":true,\"echo\":\"scale 4\"}\n");  // newline added by the server
  EXPECT_EQ(commands_, (std::vector<std::string>{"scale 4"}));
  auto json = parse_object(reply);
  ASSERT_TRUE(json);
  EXPECT_TRUE(flag(*json, "ok"));

  // One command per connection; a second connection works the same way.
  EXPECT_EQ(roundtrip("status\n"), "{\"ok\":true,\"echo\":\"status\"}\n");
  EXPECT_EQ(commands_.size(), 2u);
}

TEST_F(ControlServerTest, ReplyAlreadyEndingInNewlineIsNotDoubled) {
  ControlServer server(io_, [&](std::string_view, ControlServer::Reply reply) { reply("{}\n"); });
  server.listen(path_);
  EXPECT_EQ(roundtrip("status\n"), "{}\n");
}

TEST_F(ControlServerTest, LaterReplyIsDelivered) {
  ControlServer::Reply pending;
  ControlServer server(io_, [&](std::string_view, ControlServer::Reply reply) { pending = std::move(reply); });
  server.listen(path_);
  // The handler answers asynchronously (e.g. "stop" after the pool stopped).
  asio::steady_timer t(io_);
  t.expires_after(ms{20});
  t.async_wait([&](boost::system::error_code) {
    if (pending) pending(R"({"ok":true,"stopped":true})");
  });
  EXPECT_EQ(roundtrip("stop\n"), "{\"ok\":true,\"stopped\":true}\n");
}

TEST_F(ControlServerTest, SocketFileIsMode0600) {
  ControlServer server(io_, [](std::string_view, ControlServer::Reply reply) { reply("{}"); });
  server.listen(path_);
  struct stat st {};
  ASSERT_EQ(::lstat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_F(ControlServerTest, UmaskIsRestored) {
  mode_t before = ::umask(022);
  ControlServer server(io_, [](std::string_view, ControlServer::Reply reply) { reply("{}"); });
  server.listen(path_);
  mode_t after = ::umask(before);
  EXPECT_EQ(after, 022u);
}

TEST_F(ControlServerTest, StaleSocketFileIsReplaced) {
  make_stale_socket();
  ControlServer server(io_, [](std::string_view, ControlServer::Reply reply) { reply(R"({"ok":true})"); });
  ASSERT_NO_THROW(server.listen(path_));
  EXPECT_EQ(roundtrip("status\n"), "{\"ok\":true}\n");
}

TEST_F(ControlServerTest, LiveSocketMakesListenThrow) {
  ControlServer first(io_, [](std::string_view, ControlServer::Reply reply) { reply(R"({"who":"first"})"); });
  first.listen(path_);
  ControlServer second(io_, [](std::string_view, ControlServer::Reply reply) { reply(R"({"who":"second"})"); });
  try {
    second.listen(path_);
    FAIL() << "listen on a live socket must throw";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "control socket " + path_ + ": another hearthd is listening there");
  }
  // The first server is untouched and still answers.
  second.close();
  EXPECT_EQ(roundtrip("status\n"), "{\"who\":\"first\"}\n");
}

TEST_F(ControlServerTest, NonSocketFileMakesListenThrow) {
  int fd = ::open(path_.c_str(), O_CREAT | O_WRONLY, 0600);
  ASSERT_GE(fd, 0);
  ::close(fd);
  ControlServer server(io_, [](std::string_view, ControlServer::Reply reply) { reply("{}"); });
  try {
    server.listen(path_);
    FAIL() << "listen over a regular file must throw";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "control socket " + path_ + ": exists and is not a socket");
  }
  struct stat st {};
  ASSERT_EQ(::lstat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));  // not deleted
}

TEST_F(ControlServerTest, MissingDirectoryMakesListenThrow) {
  ControlServer server(io_, [](std::string_view, ControlServer::Reply reply) { reply("{}"); });
  EXPECT_THROW(server.listen(dir_ + "/no/such/dir/sock"), std::runtime_error);
}

TEST_F(ControlServerTest, CloseRemovesTheSocketFile) {
  ControlServer server(io_, [](std::string_view, ControlServer::Reply reply) { reply("{}"); });
  server.listen(path_);
  server.close();
  struct stat st {};
  EXPECT_NE(::lstat(path_.c_str(), &st), 0);
  stream_protocol::socket client(io_);
  boost::system::error_code ec;
  client.connect(stream_protocol::endpoint(path_), ec);
  EXPECT_TRUE(ec);
}

TEST_F(ControlServerTest, DestructorRemovesTheSocketFile) {
  {
    ControlServer server(io_, [](std::string_view, ControlServer::Reply reply) { reply("{}"); });
    server.listen(path_);
  }
  struct stat st {};
  EXPECT_NE(::lstat(path_.c_str(), &st), 0);
}

TEST_F(ControlServerTest, OtherUsersAreRefused) {
  // Needs a second uid: run as root, connect from a child that became "nobody".
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to connect as another uid";
  bool called = false;
  ControlServer server(io_, [&](std::string_view, ControlServer::Reply reply) {
    called = true;
    reply(R"({"ok":true})");
  });
  server.listen(path_);
  // Let the other user reach the socket at all (the 0600 mode is tested above).
  ASSERT_EQ(::chmod(dir_.c_str(), 0711), 0);
  ASSERT_EQ(::chmod(path_.c_str(), 0666), 0);
  int out[2];
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(out[0]);
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) _exit(2);
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) _exit(3);
    // The server may answer and close before reading: no SIGPIPE.
    (void)!::send(fd, "stop\n", 5, MSG_NOSIGNAL);
    char buf[256];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) (void)!::write(out[1], buf, static_cast<std::size_t>(n));
    _exit(0);
  }
  ::close(out[1]);
  ::fcntl(out[0], F_SETFL, O_NONBLOCK);
  std::string reply;
  bool eof = false;
  ASSERT_TRUE(run_until(io_, [&] {
    char buf[256];
    ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n > 0) reply.append(buf, static_cast<std::size_t>(n));
    if (n == 0) eof = true;
    return eof;
  }));
  ::close(out[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(reply, "{\"ok\":false,\"error\":\"permission denied\"}\n");
  EXPECT_FALSE(called);
}

TEST(PeerAllowed, OwnUidIsAllowed) {
  asio::io_context io;
  stream_protocol::socket a(io), b(io);
  asio::local::connect_pair(a, b);
  std::string who;
  EXPECT_TRUE(peer_allowed(a.native_handle(), &who));
  EXPECT_EQ(who, "uid " + std::to_string(::geteuid()) + " pid " + std::to_string(::getpid()));
  EXPECT_TRUE(peer_allowed(b.native_handle(), nullptr));
}

TEST(PeerAllowed, NotASocketIsRefused) {
  int fd = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  std::string who = "unchanged";
  EXPECT_FALSE(peer_allowed(fd, &who));
  EXPECT_EQ(who, "unchanged");
  ::close(fd);
}

// Restores an environment variable when the test ends.
class EnvGuard {
 public:
  explicit EnvGuard(const char* name) : name_(name) {
    const char* v = std::getenv(name);
    had_ = v != nullptr;
    if (had_) old_ = v;
  }
  ~EnvGuard() {
    if (had_) ::setenv(name_, old_.c_str(), 1);
    else ::unsetenv(name_);
  }

 private:
  const char* name_;
  bool had_ = false;
  std::string old_;
};

TEST(DefaultSocketPath, XdgRuntimeDirWhenWritable) {
  EnvGuard g("XDG_RUNTIME_DIR");
  char tmpl[] = "/tmp/hearth-xdg-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  ::setenv("XDG_RUNTIME_DIR", tmpl, 1);
  EXPECT_EQ(default_socket_path(), std::string(tmpl) + "/hearthd.sock");
  ::rmdir(tmpl);
}

TEST(DefaultSocketPath, WithoutXdgRuntimeDirTheSameAsThePureDecision) {
  EnvGuard g("XDG_RUNTIME_DIR");
  ::unsetenv("XDG_RUNTIME_DIR");
  std::string expected = default_socket_path();
  ::setenv("XDG_RUNTIME_DIR", "", 1);
  EXPECT_EQ(default_socket_path(), expected);
  ::setenv("XDG_RUNTIME_DIR", "/nonexistent/hearth-xdg", 1);
  EXPECT_EQ(default_socket_path(), expected);
  if (::geteuid() != 0) EXPECT_EQ(expected, "/tmp/hearthd-" + std::to_string(::geteuid()) + ".sock");
}

// Issue 16: never a world-writable directory when a private one exists.
TEST(DefaultSocketPath, Decision) {
  EXPECT_EQ(default_socket_path("/run/user/1000", 1000, true), "/run/user/1000/hearthd.sock");
  EXPECT_EQ(default_socket_path("/run/user/0", 0, true), "/run/user/0/hearthd.sock");
  EXPECT_EQ(default_socket_path("", 0, true), "/run/hearth/hearthd.sock");
  EXPECT_EQ(default_socket_path("", 0, false), "/tmp/hearthd-0.sock");  // no /run at all
  EXPECT_EQ(default_socket_path("", 1000, true), "/tmp/hearthd-1000.sock");
}

TEST(DefaultSocketPath, PrepareOnlyTouchesTheRunDirDefault) {
  EXPECT_EQ(prepare_default_socket_dir("/tmp/hearthd-0.sock"), "");
  EXPECT_EQ(prepare_default_socket_dir("/nonexistent/dir/x.sock"), "");
}

}  // namespace
}  // namespace hearth::control
