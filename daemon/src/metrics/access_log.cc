#include "metrics/access_log.h"

#include "common/json_escape.h"
#include "common/log.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <charconv>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace hearth::metrics {
namespace {

bool clf_plain(unsigned char u) { return u >= 0x20 && u != 0x7f && u != '"' && u != '\\'; }

// The bytes of v, with '"' and '\\' escaped and control bytes as \xHH; runs of plain
// bytes are appended at once.
void append_clf_escaped(std::string& out, std::string_view v) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::size_t run = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    unsigned char u = static_cast<unsigned char>(v[i]);
    if (clf_plain(u)) continue;
    out.append(v.data() + run, i - run);
    run = i + 1;
    if (u == '"' || u == '\\') {
      out += '\\';
      out += static_cast<char>(u);
    } else {
      const char esc[4] = {'\\', 'x', kHex[u >> 4], kHex[u & 15]};
      out.append(esc, 4);
    }
  }
  out.append(v.data() + run, v.size() - run);
}

void append_quoted_clf(std::string& out, std::string_view v) {
  out += '"';
  if (v.empty()) out += '-';
  else append_clf_escaped(out, v);
  out += '"';
}

template <typename Int>
void append_int(std::string& out, Int v) {
  char b[24];
  auto r = std::to_chars(b, b + sizeof b, v);
  out.append(b, static_cast<std::size_t>(r.ptr - b));
}

}  // namespace

void append_combined(std::string& out, const AccessEntry& e, ClfTimeCache& when) {
  out.reserve(out.size() + 160 + e.target.size() + e.user_agent.size());
  if (e.remote_addr.empty()) out += '-';
  else out += e.remote_addr;
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
  out += when.text;
  // "METHOD TARGET PROTOCOL", escaped as one field.
  out += '"';
  append_clf_escaped(out, e.method);
  out += ' ';
  append_clf_escaped(out, e.target);
  out += ' ';
  append_clf_escaped(out, e.protocol);
  out += "\" ";
  append_int(out, e.status);
  out += ' ';
  append_int(out, static_cast<unsigned long long>(e.bytes));
  out += ' ';
  append_quoted_clf(out, e.referer);
  out += ' ';
  append_quoted_clf(out, e.user_agent);
  out += " rid=";
  if (e.request_id.empty()) out += '-';
  else out += e.request_id;
  out += " dur=";
  char dur[48];
  auto r = std::to_chars(dur, dur + sizeof dur, e.duration_s, std::chars_format::fixed, 6);
  out.append(dur, static_cast<std::size_t>(r.ptr - dur));
  out += '\n';
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
