#include "http/request_reader.h"

#include <gtest/gtest.h>

#include <string>

namespace hearth::http {
namespace {

using Step = RequestReader::Step;
using Phase = RequestReader::Phase;

class ReaderTest : public ::testing::Test {
 protected:
  ReaderTest() {
    limits_.max_header_size = 1024;
    limits_.max_body_size = 64 * 1024;
  }
  // One step over buf_; drops what the reader used, as the connection does.
  Step step() {
    std::size_t used = 0;
    Step s = reader_.step(buf_, used);
    EXPECT_LE(used, buf_.size());
    buf_.erase(0, used);
    return s;
  }

  config::HttpLimits limits_;
  std::string temp_dir_ = "/tmp";
  RequestReader reader_{limits_, temp_dir_};
  std::string buf_;
};

TEST_F(ReaderTest, IdleWithNothingOrOnlyCrlfNeedsMore) {
  EXPECT_EQ(step(), Step::NeedMore);
  buf_ = "\r\n\r\n";
  EXPECT_EQ(step(), Step::NeedMore);
  EXPECT_EQ(buf_, "");  // stray CRLFs between requests are dropped
  EXPECT_EQ(reader_.phase(), Phase::Idle);
}

TEST_F(ReaderTest, HeadInPiecesThenComplete) {
  buf_ = "GET /a HTTP/1.1\r\nHo";
  EXPECT_EQ(step(), Step::NeedMore);
  EXPECT_EQ(reader_.phase(), Phase::Head);
  buf_ += "st: x\r\n\r\n";
  EXPECT_EQ(step(), Step::Complete);
  EXPECT_EQ(reader_.parser().request()->target, "/a");
  EXPECT_EQ(buf_, "");
}

TEST_F(ReaderTest, PipelinedRequestsOneAtATime) {
  buf_ = "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n";
  EXPECT_EQ(step(), Step::Complete);
  EXPECT_EQ(reader_.parser().request()->target, "/1");
  reader_.reset();
  EXPECT_EQ(reader_.phase(), Phase::Idle);
  EXPECT_EQ(step(), Step::Complete);
  EXPECT_EQ(reader_.parser().request()->target, "/2");
  EXPECT_EQ(buf_, "");
}

TEST_F(ReaderTest, BodyAfterHeadDone) {
  buf_ = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhe";
  EXPECT_EQ(step(), Step::HeadDone);
  EXPECT_EQ(reader_.phase(), Phase::Body);
  EXPECT_EQ(step(), Step::NeedMore);
  buf_ += "llo";
  EXPECT_EQ(step(), Step::Complete);
  EXPECT_EQ(reader_.parser().request()->body.size(), 5u);
}

TEST_F(ReaderTest, OversizedHeadIs431AndGarbageIs400) {
  buf_ = "GET / HTTP/1.1\r\nX: " + std::string(2000, 'a') + "\r\n\r\n";
  EXPECT_EQ(step(), Step::Reject);
  EXPECT_EQ(reader_.reject_status(), 431);
  RequestReader other{limits_, temp_dir_};
  std::string bad = "G\x01T / HTTP/1.1\r\n\r\n";
  std::size_t used = 0;
  EXPECT_EQ(other.step(bad, used), Step::Reject);
  EXPECT_EQ(other.reject_status(), 400);
}

TEST_F(ReaderTest, UnboundedChunkLineIsCutAtAHeadsSize) {
  buf_ = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  EXPECT_EQ(step(), Step::HeadDone);
  buf_ += "5;" + std::string(1100, 'e');
  EXPECT_EQ(step(), Step::Reject);
  EXPECT_EQ(reader_.reject_status(), 400);
}

TEST_F(ReaderTest, H2PrefaceIsReportedUnconsumedWhenEnabled) {
  buf_ = "PRI * HTTP/2.0\r\n";
  EXPECT_EQ(step(), Step::NeedMore);  // a prefix of the preface: wait for the rest
  buf_ += "\r\nSM\r\n\r\nxyz";
  EXPECT_EQ(step(), Step::H2Preface);
  EXPECT_EQ(buf_, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\nxyz");
}

TEST_F(ReaderTest, H2PrefaceIsABadRequestWhenDisabled) {
  limits_.h2_enabled = false;
  buf_ = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  EXPECT_EQ(step(), Step::Reject);
  EXPECT_EQ(reader_.reject_status(), 400);
}

// The daemon cannot serve HTTP/2 (nghttp2 not loadable): answered as when disabled.
TEST_F(ReaderTest, DeclinedH2PrefaceIsABadRequestAsWhenDisabled) {
  buf_ = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  ASSERT_EQ(step(), Step::H2Preface);
  reader_.decline_h2();
  EXPECT_EQ(step(), Step::Reject);
  EXPECT_EQ(reader_.reject_status(), 400);
}

}  // namespace
}  // namespace hearth::http
