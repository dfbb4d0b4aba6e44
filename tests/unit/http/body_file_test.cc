// BufferedResponseSink::body_file: the region follows the head, as a file
// region for sendfile (plain connections) or as read chunks (TLS), small
// files inline, HEAD without reading, and the framing rules.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>

#include "http/buffered_response_sink.h"

namespace hearth::http {
namespace {

class NullTransport : public SinkTransport {
 public:
  void on_sink_output() override {}
};

class BodyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "hearth-bodyfile-XXXXXX";
    fd_ = ::mkstemp(tmpl.data());
    ASSERT_GE(fd_, 0);
    ::unlink(tmpl.c_str());
    data_.resize(300 * 1024);
    for (size_t i = 0; i < data_.size(); ++i) data_[i] = static_cast<char>('a' + (i * 7) % 26);
    ASSERT_EQ(::write(fd_, data_.data(), data_.size()), static_cast<ssize_t>(data_.size()));
  }
  void TearDown() override { ::close(fd_); }

  BufferedResponseSink& make(bool sendfile, bool is_head = false, int version = 11) {
    sink_ = std::make_unique<BufferedResponseSink>(limits_, temp_dir_, nullptr, &transport_,
                                                   BufferedResponseSink::Options{version, is_head, true, sendfile});
    return *sink_;
  }
  std::string drain() {
    std::string out;
    for (std::string_view v = sink_->next_output(); !v.empty(); v = sink_->next_output()) {
      out.append(v);
      sink_->consume(v.size());
    }
    return out;
  }
  static std::string body_of(const std::string& wire) { return wire.substr(wire.find("\r\n\r\n") + 4); }

  int fd_ = -1;
  std::string data_;
  config::HttpLimits limits_;
  std::string temp_dir_ = "/tmp";
  NullTransport transport_;
  std::unique_ptr<BufferedResponseSink> sink_;
};

TEST_F(BodyFileTest, SendfileRegionFollowsTheHead) {
  auto& s = make(true);
  s.start(206, "", {{"Content-Length", "200000"}});
  ASSERT_TRUE(s.body_file(fd_, 1000, 200000));
  s.finish(true);
  std::string head = drain();
  EXPECT_EQ(head.rfind("HTTP/1.1 206", 0), 0u);
  EXPECT_EQ(body_of(head), "");  // nothing of the file went through memory
  EXPECT_FALSE(s.complete());
  auto r = s.file_region();
  EXPECT_NE(r.fd, fd_);  // a dup: the caller may close its own
  EXPECT_EQ(r.offset, 1000u);
  EXPECT_EQ(r.length, 200000u);
  s.consume_file(150000);
  EXPECT_EQ(s.file_region().offset, 151000u);
  s.consume_file(50000);
  EXPECT_EQ(s.file_region().length, 0u);
  EXPECT_TRUE(s.complete());
  EXPECT_FALSE(s.must_close());
}

TEST_F(BodyFileTest, WithoutSendfileTheFileIsReadInChunks) {
  auto& s = make(false);
  s.start(200, "", {{"Content-Length", std::to_string(data_.size())}});
  ASSERT_TRUE(s.body_file(fd_, 0, data_.size()));
  s.finish(true);
  EXPECT_EQ(s.file_region().length, data_.size());
  std::string wire = drain();
  EXPECT_EQ(body_of(wire), data_);
  EXPECT_TRUE(s.complete());
}

TEST_F(BodyFileTest, SmallFilesGoInlineBehindTheHead) {
  auto& s = make(true);
  s.start(200, "", {{"Content-Length", "100"}});
  ASSERT_TRUE(s.body_file(fd_, 5, 100));
  s.finish(true);
  EXPECT_EQ(s.file_region().length, 0u);
  EXPECT_EQ(body_of(drain()), data_.substr(5, 100));
  EXPECT_TRUE(s.complete());
}

TEST_F(BodyFileTest, HeadSendsNoBody) {
  auto& s = make(true, /*is_head=*/true);
  s.start(200, "", {{"Content-Length", std::to_string(data_.size())}});
  ASSERT_TRUE(s.body_file(fd_, 0, data_.size()));
  s.finish(true);
  EXPECT_EQ(s.file_region().length, 0u);
  std::string wire = drain();
  EXPECT_EQ(body_of(wire), "");
  EXPECT_NE(wire.find("Content-Length: " + std::to_string(data_.size())), std::string::npos);
  EXPECT_TRUE(s.complete());
  EXPECT_EQ(s.body_bytes(), data_.size());
}

TEST_F(BodyFileTest, WithoutALengthTheFileIsChunked) {
  auto& s = make(true);
  s.start(200, "", {});
  ASSERT_TRUE(s.body_file(fd_, 0, 70000));
  s.finish(true);
  EXPECT_EQ(s.file_region().length, 0u);
  std::string wire = drain();
  EXPECT_NE(wire.find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_EQ(wire.substr(wire.size() - 5), "0\r\n\r\n");
}

TEST_F(BodyFileTest, AFileThatShrankEndsTheConnection) {
  auto& s = make(false);
  s.start(200, "", {{"Content-Length", "400000"}});
  ASSERT_TRUE(s.body_file(fd_, 0, 400000));  // 100 KiB more than there is
  s.finish(true);
  std::string wire = drain();
  EXPECT_EQ(body_of(wire).size(), data_.size());
  EXPECT_TRUE(s.must_close());
  EXPECT_TRUE(s.complete());
}

}  // namespace
}  // namespace hearth::http
