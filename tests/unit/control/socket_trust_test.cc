// control/socket_trust.h: whom hearthctl talks to (issue 16). The ownership
// cases need root (to chown to another uid); they are skipped otherwise.
#include "control/socket_trust.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace hearth::control {
namespace {

constexpr uid_t kNobody = 65534;

// A listening Unix socket at `path`; returns the fd (or -1).
int listen_at(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 1) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

class SocketTrust : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hearth-trust-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    for (const auto& p : cleanup_) ::unlink(p.c_str());
    ::rmdir((dir_ + "/shared").c_str());
    ::rmdir(dir_.c_str());
  }
  std::string sock(const std::string& rel) {
    std::string p = dir_ + "/" + rel;
    cleanup_.push_back(p);
    return p;
  }
  std::string dir_;
  std::vector<std::string> cleanup_;
};

TEST_F(SocketTrust, MissingPathIsLeftToConnect) {
  auto r = check_socket_file(dir_ + "/absent.sock", ::getuid(), ::geteuid());
  EXPECT_EQ(r.error, "");
  EXPECT_FALSE(r.delegated);
}

TEST_F(SocketTrust, OwnSocketIsTrusted) {
  std::string p = sock("own.sock");
  int fd = listen_at(p);
  ASSERT_GE(fd, 0);
  auto r = check_socket_file(p, ::getuid(), ::geteuid());
  EXPECT_EQ(r.error, "");
  EXPECT_FALSE(r.delegated);
  ::close(fd);
}

TEST_F(SocketTrust, SquattedSocketInAWorldWritableDirIsRefusedNamingTheOwner) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  std::string shared = dir_ + "/shared";
  ASSERT_EQ(::mkdir(shared.c_str(), 0777), 0);
  ASSERT_EQ(::chmod(shared.c_str(), 01777), 0);  // like /tmp
  std::string p = sock("shared/hearthd-0.sock");
  int fd = listen_at(p);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::lchown(p.c_str(), kNobody, kNobody), 0);
  auto r = check_socket_file(p, 0, 0);
  EXPECT_NE(r.error.find("owned by "), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("uid 65534"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("writable by others"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find(p), std::string::npos) << r.error;
  ::close(fd);
}

TEST_F(SocketTrust, SocketOfAnotherUserInARootOnlyDirectoryIsDelegated) {
  // /run/hearth/hearthd.sock of the packaged service (User=hearth): only root
  // could have made that directory, so its owner is who root meant to reach.
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
  std::string p = sock("svc.sock");
  int fd = listen_at(p);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::lchown(p.c_str(), kNobody, kNobody), 0);
  auto r = check_socket_file(p, 0, 0);
  EXPECT_EQ(r.error, "");
  ASSERT_TRUE(r.delegated);
  EXPECT_EQ(*r.delegated, kNobody);
  ::close(fd);
}

TEST_F(SocketTrust, DirectoryOwnedBySomeoneElseIsNotDelegated) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  std::string sub = dir_ + "/shared";
  ASSERT_EQ(::mkdir(sub.c_str(), 0755), 0);
  ASSERT_EQ(::chown(sub.c_str(), kNobody - 1, kNobody - 1), 0);
  std::string p = sock("shared/x.sock");
  int fd = listen_at(p);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::lchown(p.c_str(), kNobody, kNobody), 0);
  auto r = check_socket_file(p, 0, 0);
  EXPECT_NE(r.error.find("its directory " + sub + " is owned by"), std::string::npos) << r.error;
  ::close(fd);
}

TEST_F(SocketTrust, NotASocketOfAnotherUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  std::string p = sock("plain");
  std::FILE* f = std::fopen(p.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fclose(f);
  ASSERT_EQ(::chown(p.c_str(), kNobody, kNobody), 0);
  EXPECT_NE(check_socket_file(p, 0, 0).error.find("not a socket"), std::string::npos);
}

TEST_F(SocketTrust, PeerCredentials) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  // The peer is this process: trusted as the invoking user...
  EXPECT_EQ(check_peer(sv[0], ::getuid(), ::geteuid(), std::nullopt), "");
  // ...but not by someone else (pretend we are uid 4242, not root).
  if (::geteuid() == 0) {
    std::string e = check_peer(sv[0], 4242, 4242, std::nullopt);
    EXPECT_EQ(e, "");  // the peer is root: always trusted
  } else {
    std::string e = check_peer(sv[0], 4242, 4242, std::nullopt);
    EXPECT_NE(e.find("runs as "), std::string::npos) << e;
    EXPECT_EQ(check_peer(sv[0], 4242, 4242, ::geteuid()), "");  // the delegated owner
  }
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST(DescribeUid, NamesKnownUids) {
  EXPECT_EQ(describe_uid(0), "root (uid 0)");
  EXPECT_EQ(describe_uid(3999999), "uid 3999999");
}

}  // namespace
}  // namespace hearth::control
