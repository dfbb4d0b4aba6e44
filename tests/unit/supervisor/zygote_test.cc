// Zygote with a fake spawner (fake_zygote.h): the "zygote process" is a child
// of ours that only waits for signals, and the test speaks the control
// protocol on the socket the Zygote meant to hand over as fd 3.
#include "supervisor/zygote.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "fake_zygote.h"
#include "slot_harness.h"

namespace hearth::supervisor {
namespace {

using namespace std::string_literals;
using hearth::testing::run_until;
using ms = std::chrono::milliseconds;

using hearth::testing::FakeSpawner;
using hearth::testing::Frame;

class ZygoteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    ASSERT_EQ(::pipe2(death_, O_CLOEXEC), 0);
    spec_.python = "/usr/bin/python3";
    spec_.runtime_dir = "/opt/hearth/python";
    spec_.app = "myapp.wsgi:application";
    spec_.preload = true;
    spec_.threads = 2;
    spec_.generation = 7;
    spec_.env = {"A=1", "PATH=/bin"};
    spec_.death_pipe_read_fd = death_[0];
  }
  void TearDown() override {
    if (zygote_) {
      zygote_->kill(SIGKILL);
      run_until(io_, [&] { return zygote_->state() == Zygote::State::Exited; }, ms{3000});
      zygote_.reset();
    }
    ::close(death_[0]);
    ::close(death_[1]);
  }
  void make(Zygote::Events ev = {}) {
    if (!ev.on_exit) ev.on_exit = [this](Zygote&, const ExitStatus& st) { exit_ = st; };
    zygote_ = std::make_shared<Zygote>(io_, spawner_, reaper_, spec_, std::move(ev));
  }
  void send(FrameType t, std::string_view payload) {
    std::string f = encode_frame(t, payload);
    ASSERT_EQ(::send(spawner_.control, f.data(), f.size(), MSG_NOSIGNAL), static_cast<ssize_t>(f.size()));
  }
  // Reads one frame (with any SCM_RIGHTS fds) from the zygote's end.
  std::optional<Frame> recv_frame() { return hearth::testing::recv_frame(spawner_.control); }

  boost::asio::io_context io_;
  Reaper reaper_{io_, false};
  FakeSpawner spawner_;
  ZygoteSpec spec_;
  int death_[2] = {-1, -1};
  std::shared_ptr<Zygote> zygote_;
  std::optional<ExitStatus> exit_;
};

TEST_F(ZygoteTest, StartPassesArgvFdsAndEnvironment) {
  spec_.preload = false;
  spec_.chdir = "/srv/app";
  spec_.pythonpath = {"/srv/lib", "/srv/vendor"};
  make();
  ASSERT_EQ(zygote_->start(), "");
  ASSERT_EQ(spawner_.specs.size(), 1u);
  const SpawnSpec& s = spawner_.specs[0];
  EXPECT_EQ(s.argv, (std::vector<std::string>{"/usr/bin/python3", "/opt/hearth/python/hearth_zygote.py",
                                              "--control-fd", "3", "--death-fd", "4", "--app",
                                              "myapp.wsgi:application", "--no-preload", "--threads", "2",
                                              "--generation", "7", "--chdir", "/srv/app", "--pythonpath",
                                              "/srv/lib", "--pythonpath", "/srv/vendor"}));
  EXPECT_EQ(s.env, (std::vector<std::string>{"A=1", "PATH=/bin"}));
  ASSERT_EQ(s.fd_map.size(), 2u);
  EXPECT_EQ(s.fd_map[0].second, 3);
  EXPECT_EQ(s.fd_map[1], (std::pair<int, int>{death_[0], 4}));
  EXPECT_TRUE(s.new_session);
  EXPECT_EQ(s.cwd, "");
  EXPECT_GT(zygote_->pid(), 0);
  EXPECT_EQ(zygote_->state(), Zygote::State::Starting);
  EXPECT_EQ(zygote_->generation(), 7u);
  // The daemon's copy of the zygote's end is closed after the spawn.
  EXPECT_EQ(::fcntl(s.fd_map[0].first, F_GETFD), -1);
}

TEST_F(ZygoteTest, PreloadFlag) {
  make();
  ASSERT_EQ(zygote_->start(), "");
  const auto& argv = spawner_.specs[0].argv;
  EXPECT_EQ(argv[8], "--preload");
  EXPECT_EQ(argv.size(), 13u);  // no --chdir, no --pythonpath
}

TEST_F(ZygoteTest, AsgiFlagsOnlyWhenTheInterfaceIsNotWsgi) {
  spec_.interface = "auto";
  spec_.concurrency = 64;
  spec_.lifespan = "on";
  make();
  ASSERT_EQ(zygote_->start(), "");
  const auto& argv = spawner_.specs[0].argv;
  ASSERT_EQ(argv.size(), 19u);
  EXPECT_EQ(std::vector<std::string>(argv.begin() + 13, argv.end()),
            (std::vector<std::string>{"--interface", "auto", "--concurrency", "64", "--lifespan", "on"}));
}

TEST_F(ZygoteTest, SlotsAndInterfaceComeFromZygoteReady) {
  int ready = 0;
  make(Zygote::Events{[&](Zygote&) { ++ready; }, {}, {}, {}, {}});
  ASSERT_EQ(zygote_->start(), "");
  send(FrameType::ZygoteReady, R"({"pid":99,"import_ms":5,"threads_after_import":1,"interface":"asgi","slots":100})");
  ASSERT_TRUE(run_until(io_, [&] { return ready == 1; }));
  EXPECT_EQ(zygote_->slots(), 100u);
  EXPECT_EQ(zygote_->interface(), "asgi");
}

TEST_F(ZygoteTest, SlotsDefaultToThreadsWhenMissingOrOutOfRange) {
  int ready = 0;
  make(Zygote::Events{[&](Zygote&) { ++ready; }, {}, {}, {}, {}});
  ASSERT_EQ(zygote_->start(), "");
  send(FrameType::ZygoteReady, R"({"pid":99,"import_ms":5,"slots":100000})");
  ASSERT_TRUE(run_until(io_, [&] { return ready == 1; }));
  EXPECT_EQ(zygote_->slots(), 2u);  // spec_.threads
  EXPECT_EQ(zygote_->interface(), "wsgi");
}

TEST_F(ZygoteTest, SpawnFailureIsReported) {
  spawner_.fail = true;
  make();
  EXPECT_EQ(zygote_->start(), "cannot start the Python zygote (/usr/bin/python3): exec: No such file or directory");
  EXPECT_EQ(zygote_->pid(), -1);
  zygote_.reset();
}

TEST_F(ZygoteTest, ReadyThenForkWithSlotSockets) {
  int ready = 0;
  std::vector<std::pair<int, pid_t>> forked;
  make(Zygote::Events{[&](Zygote&) { ++ready; }, {}, [&](Zygote&, int id, pid_t pid) { forked.emplace_back(id, pid); },
                      {}, {}});
  ASSERT_EQ(zygote_->start(), "");
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  EXPECT_FALSE(zygote_->fork_worker(1, {sv[0], sv[1]}));  // not ready yet

  send(FrameType::ZygoteReady,
       R"({"pid":99,"python":"3.11.2","preload":true,"import_ms":123,"threads_after_import":3})");
  ASSERT_TRUE(run_until(io_, [&] { return ready == 1; }));
  EXPECT_EQ(zygote_->state(), Zygote::State::Ready);
  EXPECT_EQ(zygote_->import_ms(), 123);
  EXPECT_TRUE(zygote_->threads_warning());

  ASSERT_TRUE(zygote_->fork_worker(5, {sv[0], sv[1]}));
  auto f = recv_frame();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->header.type, FrameType::Fork);
  EXPECT_EQ(f->payload, R"({"worker_id":5,"generation":7})");
  ASSERT_EQ(f->fds.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    struct stat a {}, b {};
    ASSERT_EQ(::fstat(sv[i], &a), 0);
    ASSERT_EQ(::fstat(f->fds[i], &b), 0);
    EXPECT_EQ(a.st_ino, b.st_ino) << "fd " << i << " is not the slot socket";
    ::close(f->fds[i]);
  }
  ::close(sv[0]);
  ::close(sv[1]);

  send(FrameType::Forked, R"({"worker_id":5,"pid":4242})");
  ASSERT_TRUE(run_until(io_, [&] { return !forked.empty(); }));
  EXPECT_EQ(forked, (std::vector<std::pair<int, pid_t>>{{5, 4242}}));
}

TEST_F(ZygoteTest, NoThreadsWarningForASingleThreadedImport) {
  int ready = 0;
  make(Zygote::Events{[&](Zygote&) { ++ready; }, {}, {}, {}, {}});
  ASSERT_EQ(zygote_->start(), "");
  send(FrameType::ZygoteReady, R"({"pid":99,"import_ms":5,"threads_after_import":1})");
  ASSERT_TRUE(run_until(io_, [&] { return ready == 1; }));
  EXPECT_FALSE(zygote_->threads_warning());
  EXPECT_EQ(zygote_->import_ms(), 5);
}

TEST_F(ZygoteTest, BadForkedIsIgnoredAndForkFailedReported) {
  std::vector<std::pair<int, pid_t>> forked;
  std::vector<std::pair<int, std::string>> failed;
  make(Zygote::Events{{}, {}, [&](Zygote&, int id, pid_t pid) { forked.emplace_back(id, pid); },
                      [&](Zygote&, int id, const std::string& e) { failed.emplace_back(id, e); }, {}});
  ASSERT_EQ(zygote_->start(), "");
  send(FrameType::Forked, R"({"worker_id":5,"pid":1})");  // pid 1 is never a worker
  send(FrameType::Forked, R"({"worker_id":5})");
  send(FrameType::ForkFailed, R"({"worker_id":6,"error":"fork: \"EAGAIN\""})");
  send(FrameType::ForkFailed, R"({"worker_id":-1})");
  send(FrameType::Forked, R"({"worker_id":8,"pid":777})");
  ASSERT_TRUE(run_until(io_, [&] { return !forked.empty(); }));
  EXPECT_EQ(forked, (std::vector<std::pair<int, pid_t>>{{8, 777}}));
  EXPECT_EQ(failed, (std::vector<std::pair<int, std::string>>{{6, "fork: \"EAGAIN\""}, {-1, "unknown error"}}));
}

TEST_F(ZygoteTest, ZygoteFailedCarriesTheTraceback) {
  std::string trace;
  make(Zygote::Events{{}, [&](Zygote&, const std::string& t) { trace = t; }, {}, {}, {}});
  ASSERT_EQ(zygote_->start(), "");
  send(FrameType::ZygoteFailed, "Traceback (most recent call last):\nImportError: no module named x\n");
  ASSERT_TRUE(run_until(io_, [&] { return !trace.empty(); }));
  EXPECT_EQ(trace, "Traceback (most recent call last):\nImportError: no module named x\n");
  EXPECT_EQ(zygote_->state(), Zygote::State::Failed);
}

TEST_F(ZygoteTest, ShutdownSendsShutdownThenTerm) {
  make();
  ASSERT_EQ(zygote_->start(), "");
  pid_t pid = zygote_->pid();
  zygote_->shutdown();
  auto f = recv_frame();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->header.type, FrameType::Shutdown);
  EXPECT_EQ(f->header.length, 0u);
  ASSERT_TRUE(run_until(io_, [&] { return exit_.has_value(); }));
  EXPECT_EQ(exit_->pid, pid);
  EXPECT_TRUE(exit_->signaled());
  EXPECT_EQ(exit_->signal(), SIGTERM);
  EXPECT_EQ(zygote_->state(), Zygote::State::Exited);
  // Nothing more to do once it has exited.
  EXPECT_FALSE(zygote_->fork_worker(1, {}));
}

TEST_F(ZygoteTest, MalformedFrameKillsTheZygote) {
  make();
  ASSERT_EQ(zygote_->start(), "");
  std::string bad(kHeaderSize, '\0');
  bad[0] = '\x55';
  ASSERT_EQ(::send(spawner_.control, bad.data(), bad.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bad.size()));
  ASSERT_TRUE(run_until(io_, [&] { return exit_.has_value(); }));
  EXPECT_TRUE(exit_->signaled());
  EXPECT_EQ(exit_->signal(), SIGKILL);
  EXPECT_EQ(zygote_->state(), Zygote::State::Exited);
}

TEST(ZygoteStateName, Names) {
  EXPECT_STREQ(zygote_state_name(Zygote::State::Starting), "starting");
  EXPECT_STREQ(zygote_state_name(Zygote::State::Ready), "ready");
  EXPECT_STREQ(zygote_state_name(Zygote::State::Failed), "failed");
  EXPECT_STREQ(zygote_state_name(Zygote::State::Exited), "exited");
}

}  // namespace
}  // namespace hearth::supervisor
