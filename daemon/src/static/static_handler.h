#pragma once
// Serves [[static]] mounts in front of the app's handler (a RequestHandler
// decorator): a request whose path falls under a mount is answered from the
// file system and never reaches Python; every other request (and, with
// `fallthrough`, a missing file) goes to `next`. Policy lives in the pure
// parts (url_path, conditional, range, negotiation); this class does the
// file system calls and writes the answer through the sink (body_file, so
// the connection can sendfile). Static answers are reported to the observer
// (access log, metrics) like app requests, marked is_static.
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "config/config.h"
#include "http/handler.h"
#include "proxy/observed_sink.h"
#include "proxy/request_ids.h"
#include "static/file_cache.h"
#include "static/file_opener.h"
#include "static/variant_memo.h"

namespace hearth::statics {

struct OpenedFile;
class UniqueFd;

class StaticHandler final : public http::RequestHandler {
 public:
  struct Mount {
    config::StaticMount config;
    std::string root;                        // realpath of the mount's directory
    std::shared_ptr<const UniqueFd> root_fd;  // O_PATH descriptor of `root`, for openat2
  };

  // Start-up: resolves every mount's directory (static_root, then realpath).
  // "" on success, else one message naming the mount.
  static std::string prepare(const config::Config& cfg, std::vector<Mount>* out);

  // `next` (the app) and `observer` (may be null) must outlive the handler.
  StaticHandler(std::vector<Mount> mounts, http::RequestHandler& next, proxy::RequestObserver* observer,
                const ClockSource& clock);
  void handle(std::shared_ptr<http::Request> request, std::shared_ptr<http::ResponseSink> sink) override;

  uint64_t served() const { return served_; }
  // Small files kept in memory, over all mounts (file_cache.h).
  std::size_t cached_files() const {
    std::size_t n = 0;
    for (const auto& c : caches_) n += c.size();
    return n;
  }

 private:
  struct Target;
  std::shared_ptr<http::ResponseSink> observe(const std::shared_ptr<http::Request>& request,
                                              std::shared_ptr<http::ResponseSink> sink);
  // What one answer is made of: the fields, and the body from memory or from a descriptor.
  struct Representation {
    std::string_view content_type;
    std::string_view etag;
    std::string_view last_modified;
    std::time_t mtime = 0;
    uint64_t size = 0;
    bool vary = false;              // the file has a precompressed variant
    std::string_view encoding;      // "br", "gzip" or "" (the file itself)
    const std::string* memory = nullptr;  // the body, kept in the cache; else read from `fd`
    int fd = -1;
  };
  void serve_file(const Mount& m, VariantMemo& memo, FileCache& cache, const std::string& rel, OpenedFile file,
                  const http::Request& req, http::ResponseSink& sink);
  void respond(const Mount& m, const std::string& rel, const Representation& rep, const http::Request& req,
               http::ResponseSink& sink);
  static Representation from_cache(const CachedFile& f);

  std::vector<Mount> mounts_;
  std::vector<std::string> prefixes_;
  std::vector<VariantMemo> memos_;  // per mount: files recently found without .br/.gz
  std::vector<FileCache> caches_;   // per mount: small files without variants, in memory
  http::RequestHandler& next_;
  proxy::RequestObserver* observer_;
  const ClockSource& clock_;
  proxy::RequestIds ids_{"s"};
  uint64_t served_ = 0;
};

}  // namespace hearth::statics
