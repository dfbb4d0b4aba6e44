#include "metrics/access_log.h"

#include "common/json_escape.h"
#include "common/log.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace hearth::metrics {
namespace {

constexpr bool clf_plain(unsigned char u) { return u >= 0x20 && u != 0x7f && u != '"' && u != '\\'; }

// The bytes the combined format copies as they are (clf_plain), one lookup each.
constexpr std::array<bool, 256> make_plain() {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) t[static_cast<std::size_t>(c)] = clf_plain(static_cast<unsigned char>(c));
  return t;
}
constexpr std::array<bool, 256> kClfPlain = make_plain();

// The line is written through a pointer into room reserved once (at most four
// bytes per escaped input byte): no append call per piece (docs/profile.md).
[[gnu::always_inline]] inline char* put(char* p, std::string_view v) {
  std::memcpy(p, v.data(), v.size());
  return p + v.size();
}

// append_clf_escaped's text, into the reserved room.
[[gnu::always_inline]] inline char* put_escaped(char* p, std::string_view v) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (char c : v) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (kClfPlain[u]) [[likely]] {
      *p++ = c;
      continue;
    }
    *p++ = '\\';
    if (u == '"' || u == '\\') {
      *p++ = c;
    } else {
      *p++ = 'x';
      *p++ = kHex[u >> 4];
      *p++ = kHex[u & 15];
    }
  }
  return p;
}

[[gnu::always_inline]] inline char* put_quoted(char* p, std::string_view v) {
  *p++ = '"';
  if (v.empty()) *p++ = '-';
  else p = put_escaped(p, v);
  *p++ = '"';
  return p;
}

}  // namespace

void append_combined(std::string& out, const AccessEntry& e, ClfTimeCache& when) {
  const int64_t secs = e.time_unix_ms / 1000;
  if (secs != when.secs || when.text.empty()) {
    time_t t = static_cast<time_t>(secs);
    struct tm tm;
    gmtime_r(&t, &tm);
    char buf[64];
    std::size_t n = strftime(buf, sizeof buf, " - - [%d/%b/%Y:%H:%M:%S +0000] ", &tm);
    when.text.assign(buf, n);
    when.secs = secs;
  }
  constexpr std::size_t kNumber = 24;    // an int or a uint64_t in decimal
  constexpr std::size_t kDuration = 48;  // to_chars(double, fixed, 6) of any duration we measure
  const std::size_t bound = 1 + e.remote_addr.size() + when.text.size() +
                            4 * (e.method.size() + e.target.size() + e.protocol.size() + e.referer.size() +
                                 e.user_agent.size()) +
                            1 + e.request_id.size() + 2 * kNumber + kDuration + 32;
  const std::size_t at = out.size();
  out.resize(at + bound);
  char* const begin = out.data() + at;
  char* const limit = begin + bound;
  char* p = begin;
  if (e.remote_addr.empty()) *p++ = '-';
  else p = put(p, e.remote_addr);
  p = put(p, when.text);
  // "METHOD TARGET PROTOCOL", escaped as one field.
  *p++ = '"';
  p = put_escaped(p, e.method);
  *p++ = ' ';
  p = put_escaped(p, e.target);
  *p++ = ' ';
  p = put_escaped(p, e.protocol);
  p = put(p, "\" ");
  p = std::to_chars(p, p + kNumber, e.status).ptr;
  *p++ = ' ';
  p = std::to_chars(p, p + kNumber, static_cast<unsigned long long>(e.bytes)).ptr;
  *p++ = ' ';
  p = put_quoted(p, e.referer);
  *p++ = ' ';
  p = put_quoted(p, e.user_agent);
  p = put(p, " rid=");
  if (e.request_id.empty()) *p++ = '-';
  else p = put(p, e.request_id);
  p = put(p, " dur=");
  auto r = std::to_chars(p, limit, e.duration_s, std::chars_format::fixed, 6);
  p = r.ec == std::errc() ? r.ptr : put(p, "0.000000");  // a duration too large to print: never measured
  *p++ = '\n';
  out.resize(static_cast<std::size_t>(p - out.data()));
}

std::string format_combined(const AccessEntry& e) {
  std::string out;
  ClfTimeCache when;
  append_combined(out, e, when);
  return out;
}

std::string format_json(const AccessEntry& e) {
  std::string out = "{\"time\":\"";
  time_t secs = static_cast<time_t>(e.time_unix_ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char when[48];
  size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(when + n, sizeof when - n, ".%03dZ", static_cast<int>(e.time_unix_ms % 1000));
  out += when;
  out += "\",\"remote_addr\":";
  json::append_quoted(out, e.remote_addr);
  out += ",\"method\":";
  json::append_quoted(out, e.method);
  out += ",\"target\":";
  json::append_quoted(out, e.target);
  out += ",\"protocol\":";
  json::append_quoted(out, e.protocol);
  char nums[96];
  std::snprintf(nums, sizeof nums, ",\"status\":%d,\"bytes\":%llu,\"duration_s\":%.6f", e.status,
                static_cast<unsigned long long>(e.bytes), e.duration_s);
  out += nums;
  out += ",\"referer\":";
  json::append_quoted(out, e.referer);
  out += ",\"user_agent\":";
  json::append_quoted(out, e.user_agent);
  out += ",\"request_id\":";
  json::append_quoted(out, e.request_id);
  out += "}\n";
  return out;
}

AccessLog::AccessLog(boost::asio::io_context& io, std::string path, Format format)
    : io_(io), path_(std::move(path)), format_(format), timer_(io) {}

AccessLog::~AccessLog() {
  flush();
  if (own_fd_ && fd_ >= 0) ::close(fd_);
}

std::string AccessLog::open() {
  if (path_.empty()) return {};
  if (path_ == "-") {
    fd_ = STDOUT_FILENO;
    own_fd_ = false;
    return {};
  }
  int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return "access log " + path_ + ": " + std::strerror(errno);
  fd_ = fd;
  own_fd_ = true;
  return {};
}

void AccessLog::reopen() {
  flush();
  if (!own_fd_) return;
  int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    // Keep writing to the old file rather than lose lines.
    HLOG(Warn, "cannot reopen the access log " << path_ << ": " << std::strerror(errno)
                                               << "; still writing to the old file (the log directory must be "
                                                  "writable by the user hearthd runs as)");
    return;
  }
  ::close(fd_);
  fd_ = fd;
}

void AccessLog::write(const AccessEntry& e) {
  if (fd_ < 0) return;
  if (format_ == Format::Json) buf_ += format_json(e);
  else append_combined(buf_, e, clf_time_);
  if (buf_.size() >= 64 * 1024) flush();
  else schedule_flush();
}

void AccessLog::schedule_flush() {
  if (timer_armed_) return;
  timer_armed_ = true;
  timer_.expires_after(std::chrono::milliseconds(100));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    timer_armed_ = false;
    if (!ec) flush();
  });
}

void AccessLog::flush() {
  if (fd_ < 0 || buf_.empty()) return;
  const char* p = buf_.data();
  size_t left = buf_.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // a full disk or a closed pipe loses log lines, never requests
    p += n;
    left -= static_cast<size_t>(n);
  }
  buf_.clear();
}

}  // namespace hearth::metrics
