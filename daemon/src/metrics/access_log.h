#pragma once
// The access log: one line per request, combined format or JSON, to stdout or
// a file, reopened on SIGUSR1 (logrotate). Lines are buffered and written in
// batches (at most every 100 ms, or at 64 KiB) so logging costs few syscalls.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace hearth::metrics {

struct AccessEntry {
  std::string_view remote_addr;
  int64_t time_unix_ms = 0;       // wall clock
  std::string_view method;
  std::string_view target;
  std::string_view protocol;      // "HTTP/1.1"
  int status = 0;
  uint64_t bytes = 0;
  std::string_view referer;
  std::string_view user_agent;
  std::string_view request_id;
  double duration_s = 0;
};

// The " - - [22/Nov/2026:10:00:00 +0000] " part of the last second formatted: strftime
// once a second instead of once a line.
struct ClfTimeCache {
  int64_t secs = 0;
  std::string text;
};

// 127.0.0.1 - - [22/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 12 "-" "curl/7.88" rid=abc dur=0.001
std::string format_combined(const AccessEntry& e);
// The same line appended to out (the access log's buffer), reusing `when`.
void append_combined(std::string& out, const AccessEntry& e, ClfTimeCache& when);
// {"time":"2026-11-22T10:00:00.123Z","remote_addr":...,"request_id":...}
std::string format_json(const AccessEntry& e);

class AccessLog {
 public:
  enum class Format { Combined, Json };
  // path: "-" = stdout, else a file (appended). Empty = off.
  AccessLog(boost::asio::io_context& io, std::string path, Format format);
  ~AccessLog();
  // Start-up regime: returns an error message or "".
  std::string open();
  void write(const AccessEntry& e);
  void reopen();  // SIGUSR1
  void flush();
  bool enabled() const { return fd_ >= 0; }

 private:
  void schedule_flush();

  boost::asio::io_context& io_;
  std::string path_;
  Format format_;
  int fd_ = -1;
  bool own_fd_ = false;
  std::string buf_;
  ClfTimeCache clf_time_;
  boost::asio::steady_timer timer_;
  bool timer_armed_ = false;
};

}  // namespace hearth::metrics
