#pragma once
// A bounded set of unlinked temp files in temp_dir that request/response
// spools reuse across requests (issue 14, docs/profile.md section 6).
//
// Why: a fresh O_TMPFILE per spilled body costs an openat(2), an ext4 block
// and page allocation for every page written, and a close(2) that truncates
// the unlinked inode (frees its page cache and blocks): for a 1 MiB upload
// ~75 us + 8 x 77 us + ~180 us of daemon system time. A file that is
// overwritten in place from offset 0 has its blocks and pages already: a
// pwrite(2) is then a copy into the page cache.
//
// Policy (pure; no I/O but open/close/ftruncate of the files it owns):
// - acquire() hands out a free file (the most recently released: its pages
//   are the warmest) or opens a new one; the caller owns it until release().
// - release(file) keeps it free while the free files' total length stays
//   within `max_bytes` and their count within kMaxFiles; else it is closed.
//   A file longer than `max_bytes` by itself is closed (a huge upload does
//   not pin its disk/page cache).
// - trim_idle(now) closes the free files released more than `idle` ago, so an
//   idle daemon holds none (the owner calls it from a timer at next_expiry();
//   see set_wake()).
// States of a file: Free (in the set) or Held (by one Spool); a Held file is
// never in the set, so a body still being sent or retried is never reused.
// Belongs to one thread (the io_context's); not copyable.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace hearth::http {

class SpoolFiles {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t kMaxFiles = 128;
  // Under load a released file is taken again within milliseconds; a pause of
  // this long closes the free ones (a new burst opens them again: one openat
  // and one close per file per burst).
  static constexpr std::chrono::seconds kDefaultIdle{5};

  struct File {
    int fd = -1;
    uint64_t length = 0;  // bytes the file holds (>= what the holder wrote)
  };

  // max_bytes 0: no reuse (every released file is closed, as before the pool).
  SpoolFiles(std::string dir, uint64_t max_bytes, std::function<Clock::time_point()> now = Clock::now,
             std::chrono::milliseconds idle = kDefaultIdle);
  ~SpoolFiles();
  SpoolFiles(const SpoolFiles&) = delete;
  SpoolFiles& operator=(const SpoolFiles&) = delete;

  const std::string& dir() const { return dir_; }

  // A file to write from offset 0 (a reused one may be longer than what is
  // written: the holder tracks its own size). {-1, 0} with *err on failure.
  File acquire(int* err);
  // The holder is done with it; `written` is the most it wrote.
  void release(File file);
  // Closes the free files idle for `idle` or longer; returns how many stay free.
  std::size_t trim_idle();
  // When the oldest free file will have been idle for `idle` (the next
  // trim_idle() that closes one); meaningless while free_files() == 0.
  Clock::time_point next_expiry() const { return free_.empty() ? Clock::time_point{} : free_.front().released + idle_; }
  // Closes every free file.
  void clear();

  // Called (once) when the set goes from no free file to one: the owner arms
  // a timer that calls trim_idle() (and again while it returns > 0).
  void set_wake(std::function<void()> wake) { wake_ = std::move(wake); }
  std::chrono::milliseconds idle() const { return idle_; }

  std::size_t free_files() const { return free_.size(); }
  uint64_t free_bytes() const { return free_bytes_; }
  uint64_t opened() const { return opened_; }  // files ever opened
  uint64_t reused() const { return reused_; }  // acquires served from the set

 private:
  struct Free {
    File file;
    Clock::time_point released;
  };
  const std::string dir_;
  const uint64_t max_bytes_;
  std::function<Clock::time_point()> now_;
  const std::chrono::milliseconds idle_;
  std::function<void()> wake_;
  std::vector<Free> free_;  // oldest first
  uint64_t free_bytes_ = 0;
  uint64_t opened_ = 0;
  uint64_t reused_ = 0;
};

// Opens an anonymous temp file in `dir`: O_TMPFILE first, mkstemp+unlink as
// fallback. -1 with *err on failure.
int open_anonymous_file(const std::string& dir, int* err);

}  // namespace hearth::http
