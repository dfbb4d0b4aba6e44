#include "http/head_scanner.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace hearth::http
