#pragma once
// Small static files kept in memory with their response fields, keyed by the
// path below the mount (nginx's open_file_cache, but holding the bytes, and
// without its staleness window): the handler stats the path on every request
// and uses an entry only when the file is still the same one (device, inode,
// size, mtime and ctime, nanoseconds), so a file replaced by a rename,
// rewritten in place, truncated or chmod'ed is read again at once. The
// kernel stamps mtime from a coarse clock (a few ms), so two writes of the
// same size within one tick could look alike: a file is kept only once its
// mtime is `kSettle` old (settled()); a later write then always moves the
// mtime. A file modified within the last second is read on every request
// until it settles. A hit costs
// one fstatat(2) instead of openat2 + fstat + pread + close, and no ETag,
// Last-Modified or Content-Type formatting. Only files of at most
// `max_file` bytes are kept, at most `max_entries` of them and `max_bytes`
// of bodies together; when an insert would pass a bound, every entry is
// dropped first (the busy files come back on their next request). Pure: the
// handler does the file system calls and passes what they found.
#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace hearth::statics {

// What tells two versions of a file apart, from stat(2).
struct FileIdentity {
  uint64_t dev = 0;
  uint64_t ino = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;

  static FileIdentity of(const struct stat& st) {
    return {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino), static_cast<uint64_t>(st.st_size),
            static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
            static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec};
  }
  bool operator==(const FileIdentity&) const = default;
};

// One kept file: its bytes and the fields of its answers.
struct CachedFile {
  FileIdentity id;
  std::time_t mtime = 0;  // seconds, for If-Modified-Since and If-Range
  std::string body;
  std::string content_type;
  std::string etag;
  std::string last_modified;
};

class FileCache {
 public:
  static constexpr std::size_t kDefaultMaxFile = 32 * 1024;  // as BufferedResponseSink's inline file bound
  static constexpr std::size_t kDefaultMaxBytes = 4 * 1024 * 1024;
  static constexpr std::size_t kDefaultMaxEntries = 1024;

  explicit FileCache(std::size_t max_file = kDefaultMaxFile, std::size_t max_bytes = kDefaultMaxBytes,
                     std::size_t max_entries = kDefaultMaxEntries)
      : max_file_(max_file), max_bytes_(max_bytes), max_entries_(max_entries) {}

  static constexpr int64_t kSettleNs = 1000000000;  // 1 s

  // Whether a file last modified as `id` says may be kept at wall-clock time
  // `now_ns` (CLOCK_REALTIME, ns): its mtime is at least kSettleNs old.
  static bool settled(const FileIdentity& id, int64_t now_ns) { return id.mtime_ns <= now_ns - kSettleNs; }
  // Whether a file of `size` bytes may be kept.
  bool fits(uint64_t size) const { return size <= max_file_ && size <= max_bytes_ && max_entries_ > 0; }
  // Whether `now` (a stat of the entry's path taken now) is still the file the entry was read from.
  static bool same_file(const CachedFile& f, const struct stat& now) {
    return S_ISREG(now.st_mode) && f.id == FileIdentity::of(now);
  }
  // The entry for `rel`, whatever its identity; nullptr if none. Valid until the next insert or erase.
  const CachedFile* find(std::string_view rel) const;
  // The entry for `rel` if `now` (a stat of the path taken now) is the same
  // file; an entry for a different file is dropped. nullptr otherwise.
  const CachedFile* validate(std::string_view rel, const struct stat& now);
  // Keeps `file` for `rel` (replacing any entry); nullptr if it does not fit.
  const CachedFile* insert(std::string_view rel, CachedFile file);
  void erase(std::string_view rel);

  std::size_t size() const { return entries_.size(); }
  std::size_t bytes() const { return bytes_; }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::size_t max_file_;
  std::size_t max_bytes_;
  std::size_t max_entries_;
  std::size_t bytes_ = 0;
  std::unordered_map<std::string, CachedFile, Hash, std::equal_to<>> entries_;
};

}  // namespace hearth::statics
