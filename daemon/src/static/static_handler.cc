#include "static/static_handler.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <random>

#include "common/ascii.h"
#include "common/log.h"
#include "proxy/sink_allocator.h"
#include "config/validate.h"
#include "static/conditional.h"
#include "static/file_opener.h"
#include "static/negotiation.h"
#include "static/range.h"
#include "static/url_path.h"

namespace hearth::statics {
namespace {

std::string_view header(const http::Request& r, std::string_view name) {
  for (const auto& h : r.headers) {
    if (ascii::iequals(h.name, name)) return h.value;
  }
  return {};
}

void plain(http::ResponseSink& sink, int status, std::string_view text, std::vector<http::Header> extra = {}) {
  sink.simple(status, "text/plain; charset=utf-8", text, std::move(extra));
}

}  // namespace

std::string StaticHandler::prepare(const config::Config& cfg, std::vector<Mount>* out) {
  out->clear();
  for (size_t i = 0; i < cfg.statics.size(); ++i) {
    const auto& m = cfg.statics[i];
    std::string dir = config::static_root(cfg, m);
    std::string real = real_path(dir);
    if (real.empty()) {
      return "static[" + std::to_string(i) + "].dir: cannot use '" + dir + "': " + std::strerror(errno);
    }
    auto fd = std::make_shared<const UniqueFd>(open_root(real));
    if (!*fd) return "static[" + std::to_string(i) + "].dir: cannot open '" + real + "': " + std::strerror(errno);
    out->push_back(Mount{m, real, std::move(fd)});
  }
  return "";
}

StaticHandler::StaticHandler(std::vector<Mount> mounts, http::RequestHandler& next, proxy::RequestObserver* observer,
                             const ClockSource& clock)
    : mounts_(std::move(mounts)), next_(next), observer_(observer), clock_(clock) {
  for (const auto& m : mounts_) prefixes_.push_back(m.config.prefix);
  memos_.resize(mounts_.size());
  caches_.resize(mounts_.size());
}

std::shared_ptr<http::ResponseSink> StaticHandler::observe(const std::shared_ptr<http::Request>& request,
                                                           std::shared_ptr<http::ResponseSink> sink) {
  ++served_;
  if (!observer_) return sink;
  const std::string id = ids_.make(served_);
  proxy::ObservedSink::Options o;
  o.add_request_id = false;
  o.is_static = true;
  // Its block recycled per thread, as the proxy's (proxy/sink_allocator.h): no malloc per answer.
  return std::allocate_shared<proxy::ObservedSink>(proxy::SinkAllocator<proxy::ObservedSink>{}, std::move(sink),
                                                   request, id, observer_, clock_, std::move(o));
}

void StaticHandler::handle(std::shared_ptr<http::Request> request, std::shared_ptr<http::ResponseSink> sink) {
  std::string_view raw = target_path(request->target);
  if (raw.empty() || raw.front() != '/') return next_.handle(std::move(request), std::move(sink));
  auto decoded = percent_decode(raw);
  std::string_view rest;
  int index = match_mount(decoded ? std::string_view(*decoded) : raw, prefixes_, &rest);
  if (index < 0) return next_.handle(std::move(request), std::move(sink));
  const Mount& m = mounts_[static_cast<size_t>(index)];
  const bool get_or_head = request->method == "GET" || request->method == "HEAD";
  if (!get_or_head && m.config.fallthrough) return next_.handle(std::move(request), std::move(sink));

  RelativePath rp;
  if (decoded) rp = split_relative(rest, m.config.allow_dotfiles);
  OpenedFile file;
  std::string rel;
  if (decoded && rp.verdict == RelativePath::Verdict::Ok && get_or_head) {
    rel = std::move(rp.path);
    const size_t mi = static_cast<size_t>(index);
    const CachedFile* kept = raw.back() != '/' ? caches_[mi].find(rel) : nullptr;
    if (kept != nullptr && (!m.config.precompressed || memos_[mi].known_absent(rel, clock_.now()))) {
      // A kept small file: one stat says whether it is still the same file.
      struct stat st;
      if (::fstatat(m.root_fd->get(), rel.c_str(), &st, 0) == 0 && FileCache::same_file(*kept, st)) {
        auto out = observe(request, std::move(sink));
        return respond(m, rel, from_cache(*kept), *request, *out);
      }
      caches_[mi].erase(rel);  // changed or gone: opened again below
    }
    file = open_under(m.root, rel, m.root_fd->get());
    if (file.status == OpenedFile::Status::Ok && raw.back() == '/') file = OpenedFile{};  // "a.txt/" is no file
    if (file.status == OpenedFile::Status::Directory && raw.back() == '/') {
      // A directory asked for with its slash: its index file, if any.
      if (m.config.index.empty()) {
        file = OpenedFile{};
      } else {
        rel = rel.empty() ? m.config.index : rel + "/" + m.config.index;
        file = open_under(m.root, rel, m.root_fd->get());
        if (file.status == OpenedFile::Status::Directory) file = OpenedFile{};
      }
    }
    if (file.status == OpenedFile::Status::NotFound && m.config.fallthrough) {
      return next_.handle(std::move(request), std::move(sink));
    }
  }

  auto out = observe(request, std::move(sink));
  if (!get_or_head) return plain(*out, 405, "405 Method Not Allowed\n", {{"Allow", "GET, HEAD"}});
  if (!decoded || rp.verdict == RelativePath::Verdict::Malformed || rp.verdict == RelativePath::Verdict::Traversal) {
    HLOG(Debug, "static: refused " << request->target);
    return plain(*out, 400, "400 Bad Request\n");
  }
  if (rp.verdict == RelativePath::Verdict::Dotfile) return plain(*out, 404, "404 Not Found\n");
  switch (file.status) {
    case OpenedFile::Status::Ok:
      return serve_file(m, memos_[static_cast<size_t>(index)], caches_[static_cast<size_t>(index)], rel,
                        std::move(file), *request, *out);
    case OpenedFile::Status::Directory: {
      // "/static/docs" names a directory: send the client to "/static/docs/",
      // so relative links in its index work (never to "//host": no open redirect).
      std::string location = std::string(raw) + "/";
      if (m.config.index.empty() || location.rfind("//", 0) == 0) return plain(*out, 404, "404 Not Found\n");
      size_t q = request->target.find('?');
      if (q != std::string::npos) location += request->target.substr(q);
      return plain(*out, 301, "301 Moved Permanently\n", {{"Location", location}});
    }
    case OpenedFile::Status::OutsideRoot:
      HLOG(Debug, "static: " << request->target << " resolves outside " << m.root);
      return plain(*out, 404, "404 Not Found\n");
    case OpenedFile::Status::NotFound:
      return plain(*out, 404, "404 Not Found\n");
  }
}

StaticHandler::Representation StaticHandler::from_cache(const CachedFile& f) {
  Representation r;
  r.content_type = f.content_type;
  r.etag = f.etag;
  r.last_modified = f.last_modified;
  r.mtime = f.mtime;
  r.size = f.body.size();
  r.memory = &f.body;
  return r;
}

namespace {

// The whole file into memory (a small one, for the cache); false on a short read.
bool read_all(int fd, uint64_t size, std::string* out) {
  out->resize(size);
  uint64_t done = 0;
  while (done < size) {  // bounded: every turn reads at least one byte or stops
    ssize_t n = ::pread(fd, out->data() + done, size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<uint64_t>(n);
  }
  return true;
}

}  // namespace

void StaticHandler::serve_file(const Mount& m, VariantMemo& memo, FileCache& cache, const std::string& rel,
                               OpenedFile file, const http::Request& req, http::ResponseSink& sink) {
  Representation rep;
  bool variants = false;
  const TimePoint now = clock_.now();
  if (m.config.precompressed && !memo.known_absent(rel, now)) {
    OpenedFile br = open_under(m.root, rel + ".br", m.root_fd->get());
    OpenedFile gz = open_under(m.root, rel + ".gz", m.root_fd->get());
    const bool have_br = br.status == OpenedFile::Status::Ok;
    const bool have_gz = gz.status == OpenedFile::Status::Ok;
    if (!have_br && !have_gz) memo.remember_absent(rel, now);
    else memo.forget(rel);
    if (have_br || have_gz) {
      variants = true;
      rep.vary = true;
      switch (choose_encoding(header(req, "Accept-Encoding"), have_br, have_gz)) {
        case Encoding::Brotli:
          file = std::move(br);
          rep.encoding = "br";
          break;
        case Encoding::Gzip:
          file = std::move(gz);
          rep.encoding = "gzip";
          break;
        case Encoding::Identity:
          break;
      }
    }
  }
  const struct stat& st = file.st;
  if (!variants && cache.fits(static_cast<uint64_t>(st.st_size))) {
    // A small file without variants: kept in memory (or already kept, if this
    // is the same file), and answered from there.
    if (const CachedFile* kept = cache.validate(rel, st)) return respond(m, rel, from_cache(*kept), req, sink);
    struct timespec wall {};
    ::clock_gettime(CLOCK_REALTIME, &wall);
    CachedFile f;
    f.id = FileIdentity::of(st);
    if (FileCache::settled(f.id, static_cast<int64_t>(wall.tv_sec) * 1000000000 + wall.tv_nsec) &&
        read_all(file.fd.get(), f.id.size, &f.body)) {
      f.mtime = st.st_mtim.tv_sec;
      f.content_type = mime_type(rel);
      f.etag = make_etag(f.id.mtime_ns, f.id.size);
      f.last_modified = format_http_date(f.mtime);
      if (const CachedFile* kept = cache.insert(rel, std::move(f))) return respond(m, rel, from_cache(*kept), req, sink);
    }
    // Modified within the last second, or a short read (the file shrank
    // meanwhile): answered from the descriptor, as before.
  } else if (variants) {
    cache.erase(rel);
  }
  const std::string content_type = mime_type(rel);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  const std::string etag =
      make_etag(static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec, size);
  const std::string last_modified = format_http_date(st.st_mtim.tv_sec);
  rep.content_type = content_type;
  rep.etag = etag;
  rep.last_modified = last_modified;
  rep.mtime = st.st_mtim.tv_sec;
  rep.size = size;
  rep.fd = file.fd.get();
  respond(m, rel, rep, req, sink);
}

void StaticHandler::respond(const Mount& m, const std::string& rel, const Representation& rep,
                            const http::Request& req, http::ResponseSink& sink) {
  std::vector<http::Header> headers;
  headers.reserve(9);
  headers.push_back({"Content-Type", std::string(rep.content_type)});
  if (rep.vary) headers.push_back({"Vary", "Accept-Encoding"});
  if (!rep.encoding.empty()) headers.push_back({"Content-Encoding", std::string(rep.encoding)});
  const std::string_view etag = rep.etag;
  const std::time_t mtime = rep.mtime;
  const uint64_t size = rep.size;
  headers.push_back({"ETag", std::string(etag)});
  headers.push_back({"Last-Modified", std::string(rep.last_modified)});
  if (!m.config.cache_control.empty()) headers.push_back({"Cache-Control", m.config.cache_control});

  Conditionals c{header(req, "If-Match"), header(req, "If-Unmodified-Since"), header(req, "If-None-Match"),
                 header(req, "If-Modified-Since")};
  switch (evaluate(c, etag, mtime)) {
    case Precondition::NotModified:
      sink.start(304, {}, std::move(headers));
      return sink.finish(true);
    case Precondition::PreconditionFailed:
      return plain(sink, 412, "412 Precondition Failed\n");
    case Precondition::Proceed:
      break;
  }
  headers.push_back({"Accept-Ranges", "bytes"});
  ByteRange range;
  std::string_view range_header = header(req, "Range");
  if (!range_header.empty() && if_range_allows(header(req, "If-Range"), etag, mtime)) {
    range = parse_range(range_header, size);
  }
  int status = 200;
  uint64_t first = 0, length = size;
  switch (range.kind) {
    case ByteRange::Kind::Unsatisfiable:
      return plain(sink, 416, "416 Range Not Satisfiable\n",
                   {{"Content-Range", "bytes */" + std::to_string(size)}, {"Accept-Ranges", "bytes"}});
    case ByteRange::Kind::Partial:
      status = 206;
      first = range.first;
      length = range.length();
      headers.push_back({"Content-Range", "bytes " + std::to_string(range.first) + "-" + std::to_string(range.last) +
                                              "/" + std::to_string(size)});
      break;
    case ByteRange::Kind::Full:
      break;
  }
  headers.push_back({"Content-Length", std::to_string(length)});
  sink.start(status, {}, std::move(headers));
  if (rep.memory != nullptr) {
    sink.body(std::string_view(*rep.memory).substr(first, length));
  } else if (!sink.body_file(rep.fd, first, length)) {
    HLOG(Warn, "static: reading " << m.root << "/" << rel << " failed");
    return sink.finish(false);
  }
  sink.finish(true);
}

}  // namespace hearth::statics
