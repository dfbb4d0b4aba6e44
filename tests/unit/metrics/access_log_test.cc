// Access log lines (combined and JSON) and the file's reopen after a rename.
#include "metrics/access_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace hearth::metrics {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// 2026-11-22T10:00:00.123Z
constexpr int64_t kWhen = 1795341600123;

AccessEntry sample() {
  AccessEntry e;
  e.remote_addr = "127.0.0.1";
  e.time_unix_ms = kWhen;
  e.method = "GET";
  e.target = "/path?q=1";
  e.protocol = "HTTP/1.1";
  e.status = 200;
  e.bytes = 12;
  e.referer = "";
  e.user_agent = "curl/7.88";
  e.request_id = "abc123";
  e.duration_s = 0.0015;
  return e;
}

TEST(Combined, ApacheShapeWithRequestIdAndDuration) {
  EXPECT_EQ(format_combined(sample()),
            "127.0.0.1 - - [22/Nov/2026:10:00:00 +0000] \"GET /path?q=1 HTTP/1.1\" 200 12 \"-\" \"curl/7.88\" "
            "rid=abc123 dur=0.001500\n");
}

TEST(Combined, EmptyFieldsAreDashes) {
  AccessEntry e = sample();
  e.remote_addr = "";
  e.user_agent = "";
  e.request_id = "";
  std::string line = format_combined(e);
  EXPECT_THAT(line, StartsWith("- - - ["));
  EXPECT_THAT(line, HasSubstr(" \"-\" \"-\" rid=- "));
}

TEST(Combined, QuotesBackslashesAndControlBytesAreEscaped) {
  AccessEntry e = sample();
  e.user_agent = "evil \"agent\" \\ x\ny\x7f";
  e.target = "/a\"b";
  std::string line = format_combined(e);
  EXPECT_THAT(line, HasSubstr("\"GET /a\\\"b HTTP/1.1\""));
  EXPECT_THAT(line, HasSubstr("\"evil \\\"agent\\\" \\\\ x\\x0ay\\x7f\""));
  // One record, one line: an injected newline cannot forge a second entry.
  EXPECT_EQ(line.find('\n'), line.size() - 1);
}

// The line is written through a pointer into room reserved up front: every
// byte value, in every escaped field, as the byte-wise rule writes it.
TEST(Combined, EveryByteEscapedAsTheByteWiseRule) {
  auto reference = [](std::string_view v) {
    std::string out;
    for (char c : v) {
      const unsigned char u = static_cast<unsigned char>(c);
      if (u >= 0x20 && u != 0x7f && u != '"' && u != '\\') {
        out += c;
      } else if (u == '"' || u == '\\') {
        out += '\\';
        out += c;
      } else {
        char b[8];
        std::snprintf(b, sizeof b, "\\x%02x", u);
        out += b;
      }
    }
    return out;
  };
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  const std::string twice = all + all;
  AccessEntry e = sample();
  e.method = all;
  e.target = twice;  // worst case: four bytes out per byte in, in every field
  e.protocol = all;
  e.referer = all;
  e.user_agent = all;
  e.remote_addr = "";
  e.request_id = "";
  const std::string line = format_combined(e);
  const std::string want = "-" + line.substr(1, line.find('"') - 1) + "\"" + reference(all) + " " +
                           reference(twice) + " " + reference(all) + "\" 200 12 \"" + reference(all) +
                           "\" \"" + reference(all) + "\" rid=- dur=0.001500\n";
  EXPECT_EQ(line, want);
}

TEST(Combined, RefererIsQuoted) {
  AccessEntry e = sample();
  e.referer = "https://example.com/";
  EXPECT_THAT(format_combined(e), HasSubstr(" 200 12 \"https://example.com/\" \"curl/7.88\""));
}

TEST(Combined, AppendedLinesReuseTheSecondsTextOnlyWithinOneSecond) {
  ClfTimeCache when;
  std::string out;
  AccessEntry a = sample();
  append_combined(out, a, when);
  AccessEntry b = sample();
  b.time_unix_ms = kWhen + 500;   // same second
  append_combined(out, b, when);
  AccessEntry c = sample();
  c.time_unix_ms = kWhen + 61000;  // a minute later
  append_combined(out, c, when);
  EXPECT_EQ(out, format_combined(a) + format_combined(b) + format_combined(c));
  EXPECT_THAT(format_combined(c), HasSubstr("[22/Nov/2026:10:01:01 +0000]"));
}

TEST(Combined, DurationAndNumbersAsPrintfWouldWriteThem) {
  for (double d : {0.0, 0.0000005, 0.0000015, 0.1234565, 1.0, 12.3456789, 3600.25}) {
    AccessEntry e = sample();
    e.duration_s = d;
    e.status = 504;
    e.bytes = 18446744073709551615ull;
    char want[128];
    std::snprintf(want, sizeof want, " 504 %llu \"-\" \"curl/7.88\" rid=abc123 dur=%.6f\n",
                  18446744073709551615ull, d);
    EXPECT_THAT(format_combined(e), EndsWith(want)) << d;
  }
}

TEST(Json, AllFieldsWithIsoTime) {
  EXPECT_EQ(format_json(sample()),
            "{\"time\":\"2026-11-22T10:00:00.123Z\",\"remote_addr\":\"127.0.0.1\",\"method\":\"GET\","
            "\"target\":\"/path?q=1\",\"protocol\":\"HTTP/1.1\",\"status\":200,\"bytes\":12,"
            "\"duration_s\":0.001500,\"referer\":\"\",\"user_agent\":\"curl/7.88\",\"request_id\":\"abc123\"}\n");
}

TEST(Json, MillisecondsArePadded) {
  AccessEntry e = sample();
  e.time_unix_ms = kWhen - 123 + 7;
  EXPECT_THAT(format_json(e), StartsWith("{\"time\":\"2026-11-22T10:00:00.007Z\""));
}

TEST(Json, StringsAreEscapedAndUtf8IsKept) {
  AccessEntry e = sample();
  e.user_agent = "q\"b\\n\nt\t\x01\xc3\xa9";
  std::string line = format_json(e);
  EXPECT_THAT(line, HasSubstr("\"user_agent\":\"q\\\"b\\\\n\\nt\\t\\u0001\xc3\xa9\""));
  EXPECT_EQ(line.find('\n'), line.size() - 1);
}

TEST(Json, Utf8InTargetAndHeadersIsWrittenAsUtf8) {
  AccessEntry e = sample();
  e.target = "/caf\xc3\xa9?q=\xe2\x82\xac";   // /café?q=€
  e.referer = "http://x/\xf0\x9f\x98\x80";     // U+1F600
  std::string line = format_json(e);
  EXPECT_THAT(line, HasSubstr("\"target\":\"/caf\xc3\xa9?q=\xe2\x82\xac\""));
  EXPECT_THAT(line, HasSubstr("\"referer\":\"http://x/\xf0\x9f\x98\x80\""));
  EXPECT_THAT(line, Not(HasSubstr("\\u00c3")));
}

TEST(Json, InvalidUtf8BytesAreEscapedOneByOne) {
  AccessEntry e = sample();
  e.target = "/a\xe9" "b\xc3";  // Latin-1 é, then a truncated sequence at the end
  std::string line = format_json(e);
  EXPECT_THAT(line, HasSubstr("\"target\":\"/a\\u00e9b\\u00c3\""));
}

class TempFile {
 public:
  TempFile() {
    char tmpl[] = "/tmp/hearth-access-XXXXXX";
    int fd = ::mkstemp(tmpl);
    ::close(fd);
    path_ = tmpl;
    ::unlink(path_.c_str());
  }
  ~TempFile() {
    ::unlink(path_.c_str());
    ::unlink((path_ + ".1").c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(AccessLog, EmptyPathIsOff) {
  boost::asio::io_context io;
  AccessLog log(io, "", AccessLog::Format::Combined);
  EXPECT_EQ(log.open(), "");
  EXPECT_FALSE(log.enabled());
  log.write(sample());  // no-op
}

TEST(AccessLog, UnopenableFileIsAStartupError) {
  boost::asio::io_context io;
  AccessLog log(io, "/nonexistent-dir-hearth/access.log", AccessLog::Format::Combined);
  std::string err = log.open();
  EXPECT_THAT(err, HasSubstr("/nonexistent-dir-hearth/access.log"));
  EXPECT_FALSE(log.enabled());
}

TEST(AccessLog, BufferedLinesReachTheFileOnTimerOrFlush) {
  TempFile f;
  boost::asio::io_context io;
  AccessLog log(io, f.path(), AccessLog::Format::Json);
  ASSERT_EQ(log.open(), "");
  log.write(sample());
  EXPECT_EQ(slurp(f.path()), "");  // buffered
  io.run_for(std::chrono::milliseconds(500));  // the 100 ms flush timer fires
  EXPECT_EQ(slurp(f.path()), format_json(sample()));
  log.write(sample());
  log.flush();
  EXPECT_EQ(slurp(f.path()), format_json(sample()) + format_json(sample()));
}

TEST(AccessLog, ReopenAfterRenameWritesToTheNewFile) {
  TempFile f;
  boost::asio::io_context io;
  AccessLog log(io, f.path(), AccessLog::Format::Combined);
  ASSERT_EQ(log.open(), "");
  AccessEntry a = sample();
  a.request_id = "before";
  log.write(a);
  log.flush();
  ASSERT_EQ(std::rename(f.path().c_str(), (f.path() + ".1").c_str()), 0);  // logrotate
  AccessEntry b = sample();
  b.request_id = "buffered";
  log.write(b);   // still buffered: reopen flushes it to the old file first
  log.reopen();
  AccessEntry c = sample();
  c.request_id = "after";
  log.write(c);
  log.flush();
  std::string old_text = slurp(f.path() + ".1");
  std::string new_text = slurp(f.path());
  EXPECT_THAT(old_text, HasSubstr("rid=before "));
  EXPECT_THAT(old_text, HasSubstr("rid=buffered "));
  EXPECT_THAT(new_text, HasSubstr("rid=after "));
  EXPECT_THAT(new_text, ::testing::Not(HasSubstr("rid=before")));
}

TEST(AccessLog, DestructorFlushes) {
  TempFile f;
  {
    boost::asio::io_context io;
    AccessLog log(io, f.path(), AccessLog::Format::Combined);
    ASSERT_EQ(log.open(), "");
    log.write(sample());
  }
  EXPECT_THAT(slurp(f.path()), EndsWith("rid=abc123 dur=0.001500\n"));
}

}  // namespace
}  // namespace hearth::metrics
