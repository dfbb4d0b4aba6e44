#pragma once
// Request/response body storage: memory up to a threshold, then an unlinked
// temp file (from a SpoolFiles set when given one: reused across requests and
// given back by clear() or the destructor). Move-only. Data-path errors are
// returned, never thrown.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include "http/spool_files.h"

namespace hearth::http {

class Spool {
 public:
  Spool() = default;
  // memory_limit: bytes kept in memory before spilling; temp_dir: where to spill.
  Spool(uint64_t memory_limit, std::string temp_dir);
  // An empty spool made what Spool(memory_limit, temp_dir) makes, in place
  // (a request's body, once per request: no temporary to move and destroy).
  void configure(uint64_t memory_limit, const std::string& temp_dir) {
    memory_limit_ = memory_limit;
    temp_dir_ = temp_dir;
    files_.reset();
  }
  // The same, spilling into a file of `files` (its dir is temp_dir).
  void configure(uint64_t memory_limit, const std::shared_ptr<SpoolFiles>& files) {
    memory_limit_ = memory_limit;
    files_ = files;
  }
  ~Spool();
  Spool(Spool&&) noexcept;
  Spool& operator=(Spool&&) noexcept;
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Appends; on a failed spill (disk full, unwritable dir) returns the error
  // and the spool keeps what it had.
  [[nodiscard]] std::error_code append(std::string_view data);

  uint64_t size() const { return size_; }
  bool in_memory() const { return fd_ < 0; }
  // Valid only while in_memory().
  std::string_view memory() const { return mem_; }
  // Reads up to `len` bytes at `offset` into `out`; returns bytes read (0 at end) or -1 with errno.
  long read_at(uint64_t offset, char* out, uint64_t len) const;
  // The temp file (for sendfile(2)); -1 while in_memory(). A reused file
  // may be longer than size(): read only [0, size()).
  int fd() const { return fd_; }
  void clear();

 private:
  [[nodiscard]] std::error_code spill();
  void drop_file();  // closes fd_ or gives it back to files_


  uint64_t memory_limit_ = UINT64_MAX;
  std::string temp_dir_;
  std::string mem_;
  std::shared_ptr<SpoolFiles> files_;  // null: a fresh file per spill, closed after
  int fd_ = -1;
  uint64_t file_length_ = 0;  // the file's length when it came from files_
  uint64_t size_ = 0;
};

}  // namespace hearth::http
