#include "http/head_scanner.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace hearth::http {
namespace {

using R = HeadScanner::Result;

TEST(HeadScanner, FindsEndOfHead) {
  HeadScanner s(1024);
  std::string data = "GET / HTTP/1.1\r\nHost: x\r\n\r\nBODY\n\0";
  EXPECT_EQ(s.feed(data), R::Complete);
  EXPECT_EQ(s.head_size(), data.find("BODY"));
}

TEST(HeadScanner, IncrementalByteByByte) {
  HeadScanner s(1024);
  std::string data = "GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n\r\n";
  for (std::size_t i = 1; i < data.size(); ++i) {
    ASSERT_EQ(s.feed(std::string_view(data).substr(0, i)), R::NeedMore) << i;
  }
  EXPECT_EQ(s.feed(data), R::Complete);
  EXPECT_EQ(s.head_size(), data.size());
}

TEST(HeadScanner, RejectsBareLf) {
  HeadScanner s(1024);
  EXPECT_EQ(s.feed("GET / HTTP/1.1\nHost: x\r\n\r\n"), R::Malformed);
  s.reset();
  EXPECT_EQ(s.feed("GET / HTTP/1.1\r\nHost: x\n\r\n"), R::Malformed);
}

TEST(HeadScanner, RejectsObsFold) {
  HeadScanner s(1024);
  EXPECT_EQ(s.feed("GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n"), R::Malformed);
  s.reset();
  EXPECT_EQ(s.feed("GET / HTTP/1.1\r\nA: b\r\n\tc\r\n\r\n"), R::Malformed);
}

TEST(HeadScanner, RejectsNulAndBareCr) {
  HeadScanner s(1024);
  EXPECT_EQ(s.feed(std::string_view("GET / HTTP/1.1\r\nA: \0\r\n\r\n", 24)), R::Malformed);
  s.reset();
  EXPECT_EQ(s.feed("GET / HTTP/1.1\r\nA: b\rc\r\n\r\n"), R::Malformed);
}

TEST(HeadScanner, TooLarge) {
  HeadScanner s(32);
  EXPECT_EQ(s.feed("GET / HTTP/1.1\r\nHost: x\r\n"), R::NeedMore);
  EXPECT_EQ(s.feed("GET / HTTP/1.1\r\nHost: x\r\nX-Long: aaaaaaaaaaaa\r\n\r\n"), R::TooLarge);
}

TEST(HeadScanner, ExactlyAtLimitIsComplete) {
  std::string data = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  HeadScanner s(data.size());
  EXPECT_EQ(s.feed(data), R::Complete);
}

// The byte-by-byte scanner HeadScanner replaced (memchr per line since issue
// 14): every verdict and head size must stay the same.
class ByteWiseScanner {
 public:
  explicit ByteWiseScanner(uint64_t max_size) : max_size_(max_size) {}
  R feed(std::string_view data) {
    const std::size_t limit = data.size() < max_size_ ? data.size() : static_cast<std::size_t>(max_size_);
    while (pos_ < limit) {
      const char c = data[pos_];
      if (pos_ == line_start_ && lines_ > 0 && (c == ' ' || c == '\t')) return R::Malformed;
      if (c == '\0') return R::Malformed;
      if (c == '\n') {
        if (pos_ == 0 || data[pos_ - 1] != '\r' || pos_ - 1 < line_start_) return R::Malformed;
        const bool empty_line = (pos_ - 1 == line_start_);
        ++pos_;
        if (empty_line) {
          if (lines_ == 0) return R::Malformed;
          head_size_ = pos_;
          return R::Complete;
        }
        ++lines_;
        line_start_ = pos_;
        continue;
      }
      if (c == '\r' && pos_ + 1 < data.size() && data[pos_ + 1] != '\n') return R::Malformed;
      ++pos_;
    }
    if (limit < data.size() || pos_ >= max_size_) return R::TooLarge;
    return R::NeedMore;
  }
  std::size_t head_size() const { return head_size_; }

 private:
  uint64_t max_size_;
  std::size_t pos_ = 0, line_start_ = 0, lines_ = 0, head_size_ = 0;
};

TEST(HeadScanner, SameVerdictsAsAByteWiseScan) {
  // Random heads from the bytes that matter, fed in random pieces, with small
  // limits so TooLarge is reached too.
  std::mt19937 rng(14);
  const char alphabet[] = {'a', 'a', 'a', ':', ' ', '\t', '\r', '\n', '\r', '\n', '\0'};
  for (int round = 0; round < 20000; ++round) {
    std::string data;
    const std::size_t len = rng() % 40;
    for (std::size_t i = 0; i < len; ++i) {
      // Mostly well-formed CRLF pairs, so that Complete is common.
      if (rng() % 4 == 0) data += "\r\n";
      else data.push_back(alphabet[rng() % sizeof alphabet]);
    }
    const uint64_t max = 1 + rng() % 48;
    HeadScanner fast(max);
    ByteWiseScanner ref(max);
    std::size_t have = 0;
    while (true) {
      have = std::min(data.size(), have + 1 + rng() % 8);
      std::string_view seen = std::string_view(data).substr(0, have);
      const R a = fast.feed(seen), b = ref.feed(seen);
      ASSERT_EQ(a, b) << "round " << round << " input size " << data.size() << " fed " << have;
      if (a == R::Complete) ASSERT_EQ(fast.head_size(), ref.head_size());
      if (a != R::NeedMore || have == data.size()) break;
    }
  }
}

TEST(HeadScanner, SameVerdictsAsAByteWiseScanOnLongLines) {
  // Lines longer than a word, with bytes next to NUL and CR in value (0x01,
  // 0x0c, 0x0e, 0x8d, 0x80, 0xff) that a word-wise search must not mistake
  // for them, and real NULs and CRs at any offset.
  std::mt19937 rng(1414);
  const char alphabet[] = {'a', 'b', 'Z', ':', ' ', '\x01', '\x0c', '\x0e', '\x8d', '\x80', '\xff', '\r', '\0'};
  for (int round = 0; round < 20000; ++round) {
    std::string data = "GET / HTTP/1.1\r\n";
    const std::size_t lines = 1 + rng() % 4;
    for (std::size_t l = 0; l < lines; ++l) {
      const std::size_t len = rng() % 40;
      for (std::size_t i = 0; i < len; ++i) {
        // Rare specials, so that many lines are long and clean.
        data.push_back(rng() % 16 == 0 ? alphabet[rng() % sizeof alphabet] : alphabet[rng() % 3]);
      }
      data += "\r\n";
    }
    data += "\r\n";
    const uint64_t max = 8 + rng() % 256;
    HeadScanner fast(max);
    ByteWiseScanner ref(max);
    std::size_t have = 0;
    while (true) {
      have = std::min(data.size(), have + 1 + rng() % 64);
      std::string_view seen = std::string_view(data).substr(0, have);
      const R a = fast.feed(seen), b = ref.feed(seen);
      ASSERT_EQ(a, b) << "round " << round << " input size " << data.size() << " fed " << have;
      if (a == R::Complete) ASSERT_EQ(fast.head_size(), ref.head_size());
      if (a != R::NeedMore || have == data.size()) break;
    }
  }
}

}  // namespace
}  // namespace hearth::http
