#include "http/spool_files.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <memory>
#include <string>

#include "http/spool.h"

namespace hearth::http {
namespace {

using Clock = SpoolFiles::Clock;

std::string read_all(const Spool& s) {
  std::string out(s.size(), '\0');
  uint64_t off = 0;
  while (off < s.size()) {
    long n = s.read_at(off, out.data() + off, 5);
    if (n <= 0) break;
    off += static_cast<uint64_t>(n);
  }
  out.resize(off);
  return out;
}

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

struct FakeClock {
  Clock::time_point t{std::chrono::seconds(1000)};
  std::function<Clock::time_point()> fn() {
    return [this] { return t; };
  }
};

TEST(SpoolFiles, ReleasedFileIsReusedAndOverwrittenInPlace) {
  auto files = std::make_shared<SpoolFiles>("/tmp", 1 << 20);
  int first_fd = -1;
  {
    Spool a;
    a.configure(4, files);
    ASSERT_FALSE(a.append("0123456789abcdef"));
    ASSERT_FALSE(a.in_memory());
    first_fd = a.fd();
    EXPECT_EQ(files->opened(), 1u);
  }  // given back, not closed
  EXPECT_EQ(files->free_files(), 1u);
  EXPECT_EQ(files->free_bytes(), 16u);
  EXPECT_TRUE(is_open(first_fd));

  Spool b;
  b.configure(4, files);
  ASSERT_FALSE(b.append("xyz"));
  ASSERT_FALSE(b.append("uvw"));  // spills into the reused file
  EXPECT_EQ(b.fd(), first_fd);
  EXPECT_EQ(files->opened(), 1u);
  EXPECT_EQ(files->reused(), 1u);
  EXPECT_EQ(files->free_files(), 0u);
  // Shorter than what the file held: only the new bytes are the body.
  EXPECT_EQ(b.size(), 6u);
  EXPECT_EQ(read_all(b), "xyzuvw");
  char c;
  EXPECT_EQ(b.read_at(6, &c, 1), 0);
  b.clear();
  // The file keeps its longest length (16) for the byte cap.
  EXPECT_EQ(files->free_bytes(), 16u);
}

TEST(SpoolFiles, HeldFilesAreNeverShared) {
  auto files = std::make_shared<SpoolFiles>("/tmp", 1 << 20);
  Spool a, b;
  a.configure(0, files);
  b.configure(0, files);
  ASSERT_FALSE(a.append("aaaa"));
  ASSERT_FALSE(b.append("bb"));
  EXPECT_NE(a.fd(), b.fd());
  EXPECT_EQ(files->opened(), 2u);
  EXPECT_EQ(read_all(a), "aaaa");
  EXPECT_EQ(read_all(b), "bb");
}

TEST(SpoolFiles, FreeBytesAreCapped) {
  auto files = std::make_shared<SpoolFiles>("/tmp", 10);
  int big_fd = -1, fd1 = -1, fd2 = -1;
  {
    Spool big;
    big.configure(0, files);
    ASSERT_FALSE(big.append(std::string(11, 'x')));  // longer than the cap by itself
    big_fd = big.fd();
  }
  EXPECT_EQ(files->free_files(), 0u);
  EXPECT_FALSE(is_open(big_fd));
  {
    Spool a, b;
    a.configure(0, files);
    b.configure(0, files);
    ASSERT_FALSE(a.append(std::string(6, 'a')));
    ASSERT_FALSE(b.append(std::string(6, 'b')));
    fd1 = a.fd();
    fd2 = b.fd();
  }  // b goes first (kept, 6 bytes), then a (6 + 6 > 10: closed)
  EXPECT_EQ(files->free_files(), 1u);
  EXPECT_EQ(files->free_bytes(), 6u);
  EXPECT_TRUE(is_open(fd2));
  EXPECT_FALSE(is_open(fd1));
}

TEST(SpoolFiles, ZeroCapMeansNoReuse) {
  auto files = std::make_shared<SpoolFiles>("/tmp", 0);
  int fd = -1;
  {
    Spool a;
    a.configure(0, files);
    ASSERT_FALSE(a.append("abc"));
    fd = a.fd();
  }
  EXPECT_EQ(files->free_files(), 0u);
  EXPECT_FALSE(is_open(fd));
}

TEST(SpoolFiles, IdleFilesAreClosedOldestFirst) {
  FakeClock clock;
  int wakes = 0;
  auto files = std::make_shared<SpoolFiles>("/tmp", 1 << 20, clock.fn(), std::chrono::seconds(30));
  files->set_wake([&] { ++wakes; });
  int err = 0;
  SpoolFiles::File f1 = files->acquire(&err);
  SpoolFiles::File f2 = files->acquire(&err);
  ASSERT_GE(f1.fd, 0);
  ASSERT_GE(f2.fd, 0);
  f1.length = 100;
  f2.length = 200;
  files->release(f1);
  EXPECT_EQ(wakes, 1);
  clock.t += std::chrono::seconds(20);
  files->release(f2);
  EXPECT_EQ(wakes, 1);  // only when the set goes from empty to one
  clock.t += std::chrono::seconds(10);
  EXPECT_EQ(files->next_expiry(), clock.t);  // f1's
  EXPECT_EQ(files->trim_idle(), 1u);  // f1 idle 30 s: closed; f2 10 s: kept
  EXPECT_EQ(files->next_expiry(), clock.t + std::chrono::seconds(20));
  EXPECT_FALSE(is_open(f1.fd));
  EXPECT_TRUE(is_open(f2.fd));
  EXPECT_EQ(files->free_bytes(), 200u);
  clock.t += std::chrono::seconds(20);
  EXPECT_EQ(files->trim_idle(), 0u);
  EXPECT_FALSE(is_open(f2.fd));
  EXPECT_EQ(files->free_bytes(), 0u);
  SpoolFiles::File f3 = files->acquire(&err);
  ASSERT_GE(f3.fd, 0);
  files->release(f3);
  EXPECT_EQ(wakes, 2);
}

TEST(SpoolFiles, MostRecentlyReleasedIsReusedFirst) {
  FakeClock clock;
  SpoolFiles files("/tmp", 1 << 20, clock.fn());
  int err = 0;
  SpoolFiles::File f1 = files.acquire(&err);
  SpoolFiles::File f2 = files.acquire(&err);
  files.release(f1);
  files.release(f2);
  EXPECT_EQ(files.acquire(&err).fd, f2.fd);
  EXPECT_EQ(files.acquire(&err).fd, f1.fd);
  EXPECT_EQ(files.reused(), 2u);
  ::close(f1.fd);
  ::close(f2.fd);
}

TEST(SpoolFiles, UnwritableDirFailsTheSpillAndKeepsData) {
  auto files = std::make_shared<SpoolFiles>("/nonexistent-hearth-dir/deeper", 1 << 20);
  Spool s;
  s.configure(2, files);
  ASSERT_FALSE(s.append("ab"));
  EXPECT_TRUE(s.append("c"));
  EXPECT_TRUE(s.in_memory());
  EXPECT_EQ(s.memory(), "ab");
}

TEST(SpoolFiles, SpoolMayOutliveItsOwnersReference) {
  auto files = std::make_shared<SpoolFiles>("/tmp", 1 << 20);
  Spool s;
  s.configure(0, files);
  ASSERT_FALSE(s.append("abc"));
  Spool moved(std::move(s));
  files.reset();  // the server is gone; the request still holds the set
  EXPECT_EQ(read_all(moved), "abc");
  moved.clear();  // given back to the set, which the spool then releases
}

TEST(SpoolFiles, TheStringConfigureDetachesTheSet) {
  auto files = std::make_shared<SpoolFiles>("/tmp", 1 << 20);
  Spool s;
  s.configure(0, files);
  s.configure(0, std::string("/tmp"));
  ASSERT_FALSE(s.append("abc"));
  EXPECT_EQ(files->opened(), 0u);
}

}  // namespace
}  // namespace hearth::http
