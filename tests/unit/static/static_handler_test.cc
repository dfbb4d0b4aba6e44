// StaticHandler on a real temporary directory with a recording sink and a
// fake app handler: what is answered statically, what reaches the app, the
// escapes that must fail, and body_file()'s region.
#include "static/static_handler.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "static/file_opener.h"

namespace hearth::statics {
namespace {

namespace fs = std::filesystem;

struct Recorded : http::ResponseSink {
  int status = 0;
  std::vector<http::Header> headers;
  std::string data;
  bool finished = false, ok = false;
  void start(int s, std::string_view, std::vector<http::Header> h) override {
    status = s;
    headers = std::move(h);
  }
  void body(std::string_view d) override { data.append(d); }
  void finish(bool o) override {
    finished = true;
    ok = o;
  }
  bool client_gone() const override { return false; }
  std::string header(const std::string& name) const {
    for (const auto& h : headers) {
      if (strcasecmp(h.name.c_str(), name.c_str()) == 0) return h.value;
    }
    return "";
  }
};

struct App : http::RequestHandler {
  int calls = 0;
  void handle(std::shared_ptr<http::Request>, std::shared_ptr<http::ResponseSink> sink) override {
    ++calls;
    sink->simple(200, "text/plain", "app\n");
  }
};

class StaticHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "hearth-static-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    base_ = tmpl;
    root_ = base_ / "root";
    fs::create_directories(root_ / "sub");
    write(root_ / "hello.txt", "hello world\n");
    write(root_ / "sub" / "index.html", "<p>index</p>");
    write(root_ / ".env", "SECRET=1");
    write(root_ / "app.js", "console.log('plain');");
    write(root_ / "app.js.gz", "GZ");
    write(root_ / "app.js.br", "BR");
    write(base_ / "secret.txt", "outside");
    fs::create_symlink(base_ / "secret.txt", root_ / "escape.txt");
    fs::create_symlink(root_ / "hello.txt", root_ / "inside-link.txt");  // absolute: realpath path
    fs::create_symlink("../secret.txt", root_ / "rel-escape.txt");       // relative: openat2 refuses
    fs::create_symlink("sub/index.html", root_ / "rel-inside.html");
  }
  void TearDown() override { fs::remove_all(base_); }
  static void write(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

  std::unique_ptr<StaticHandler> make(config::StaticMount m = {}) {
    config::Config cfg;
    if (m.prefix.empty()) m.prefix = "/static/";
    m.dir = root_.string();
    cfg.statics.push_back(m);
    std::vector<StaticHandler::Mount> mounts;
    EXPECT_EQ(StaticHandler::prepare(cfg, &mounts), "");
    return std::make_unique<StaticHandler>(std::move(mounts), app_, nullptr, clock_);
  }

  std::shared_ptr<Recorded> get(StaticHandler& h, const std::string& target,
                                std::vector<http::Header> headers = {}, const std::string& method = "GET") {
    auto req = std::make_shared<http::Request>();
    req->method = method;
    req->is_head = method == "HEAD";
    req->target = target;
    req->headers = std::move(headers);
    auto sink = std::make_shared<Recorded>();
    h.handle(req, sink);
    EXPECT_TRUE(sink->finished) << target;
    return sink;
  }

  fs::path base_, root_;
  App app_;
  ManualClock clock_;
};

TEST_F(StaticHandlerTest, ServesAFileWithValidatorsAndNeverCallsTheApp) {
  auto h = make({"/static/", "", "public, max-age=60"});
  auto r = get(*h, "/static/hello.txt?v=3");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->data, "hello world\n");
  EXPECT_EQ(r->header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(r->header("Content-Length"), "12");
  EXPECT_EQ(r->header("Cache-Control"), "public, max-age=60");
  EXPECT_EQ(r->header("Accept-Ranges"), "bytes");
  EXPECT_FALSE(r->header("ETag").empty());
  EXPECT_FALSE(r->header("Last-Modified").empty());
  EXPECT_EQ(app_.calls, 0);
  EXPECT_EQ(h->served(), 1u);

  auto again = get(*h, "/static/hello.txt", {{"If-None-Match", r->header("ETag")}});
  EXPECT_EQ(again->status, 304);
  EXPECT_EQ(again->data, "");
  EXPECT_EQ(again->header("ETag"), r->header("ETag"));
  auto since = get(*h, "/static/hello.txt", {{"If-Modified-Since", r->header("Last-Modified")}});
  EXPECT_EQ(since->status, 304);
}

TEST_F(StaticHandlerTest, RangesAndHead) {
  auto h = make();
  auto r = get(*h, "/static/hello.txt", {{"Range", "bytes=6-"}});
  EXPECT_EQ(r->status, 206);
  EXPECT_EQ(r->data, "world\n");
  EXPECT_EQ(r->header("Content-Range"), "bytes 6-11/12");
  r = get(*h, "/static/hello.txt", {{"Range", "bytes=50-"}});
  EXPECT_EQ(r->status, 416);
  EXPECT_EQ(r->header("Content-Range"), "bytes */12");
  r = get(*h, "/static/hello.txt", {{"Range", "bytes=0-1"}, {"If-Range", "\"stale\""}});
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->data, "hello world\n");
}

TEST_F(StaticHandlerTest, TraversalDotfilesAndSymlinksOutOfTheRootFail) {
  auto h = make();
  EXPECT_EQ(get(*h, "/static/../secret.txt")->status, 400);
  EXPECT_EQ(get(*h, "/static/%2e%2e/secret.txt")->status, 400);
  EXPECT_EQ(get(*h, "/static/sub%2f..%2f..%2fsecret.txt")->status, 400);
  EXPECT_EQ(get(*h, "/static/hello.txt%00.png")->status, 400);
  EXPECT_EQ(get(*h, "/static/..%5csecret.txt")->status, 400);
  EXPECT_EQ(get(*h, "/static/%zz")->status, 400);
  EXPECT_EQ(get(*h, "/static/.env")->status, 404);
  EXPECT_EQ(get(*h, "/static/escape.txt")->status, 404);
  EXPECT_EQ(get(*h, "/static/missing.txt")->status, 404);
  EXPECT_EQ(get(*h, "/static/rel-escape.txt")->status, 404);
  EXPECT_EQ(get(*h, "/static/inside-link.txt")->data, "hello world\n");
  EXPECT_EQ(get(*h, "/static/rel-inside.html")->data, "<p>index</p>");
  EXPECT_EQ(app_.calls, 0);
  config::StaticMount dots;
  dots.allow_dotfiles = true;
  EXPECT_EQ(get(*make(dots), "/static/.env")->data, "SECRET=1");
}

TEST_F(StaticHandlerTest, DirectoriesIndexAndRedirect) {
  auto h = make();
  auto r = get(*h, "/static/sub/");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->data, "<p>index</p>");
  EXPECT_EQ(r->header("Content-Type"), "text/html; charset=utf-8");
  r = get(*h, "/static/sub?x=1");
  EXPECT_EQ(r->status, 301);
  EXPECT_EQ(r->header("Location"), "/static/sub/?x=1");
  EXPECT_EQ(get(*h, "/static/")->status, 404);  // the root has no index.html: no listing
  EXPECT_EQ(get(*h, "/static/hello.txt/")->status, 404);  // a file is not a directory
  config::StaticMount none;
  none.index = "";
  EXPECT_EQ(get(*make(none), "/static/sub/")->status, 404);
}

TEST_F(StaticHandlerTest, AbsentVariantsAreRememberedForOneSecondOnly) {
  auto h = make();
  const http::Header br{"Accept-Encoding", "br"};
  auto r = get(*h, "/static/hello.txt", {br});
  EXPECT_EQ(r->data, "hello world\n");
  EXPECT_EQ(r->header("Vary"), "");
  // A variant appears: within the memo's second the plain file still goes out
  // (no Vary), as before the variant existed.
  write(root_ / "hello.txt.br", "BR-HELLO");
  clock_.advance(std::chrono::milliseconds(999));
  r = get(*h, "/static/hello.txt", {br});
  EXPECT_EQ(r->data, "hello world\n");
  EXPECT_EQ(r->header("Content-Encoding"), "");
  // After it, the file is probed again and the variant served.
  clock_.advance(std::chrono::milliseconds(1));
  r = get(*h, "/static/hello.txt", {br});
  EXPECT_EQ(r->data, "BR-HELLO");
  EXPECT_EQ(r->header("Content-Encoding"), "br");
  EXPECT_EQ(r->header("Vary"), "Accept-Encoding");
  // A file with a variant is probed every time: a removed variant is never served.
  fs::remove(root_ / "hello.txt.br");
  r = get(*h, "/static/hello.txt", {br});
  EXPECT_EQ(r->data, "hello world\n");
  EXPECT_EQ(r->header("Vary"), "");
}

TEST_F(StaticHandlerTest, PrecompressedVariants) {
  auto h = make();
  auto r = get(*h, "/static/app.js", {{"Accept-Encoding", "gzip, br"}});
  EXPECT_EQ(r->data, "BR");
  EXPECT_EQ(r->header("Content-Encoding"), "br");
  EXPECT_EQ(r->header("Vary"), "Accept-Encoding");
  EXPECT_EQ(r->header("Content-Type"), "text/javascript; charset=utf-8");
  r = get(*h, "/static/app.js", {{"Accept-Encoding", "gzip, br;q=0"}});
  EXPECT_EQ(r->data, "GZ");
  EXPECT_EQ(r->header("Content-Encoding"), "gzip");
  r = get(*h, "/static/app.js");
  EXPECT_EQ(r->data, "console.log('plain');");
  EXPECT_EQ(r->header("Content-Encoding"), "");
  EXPECT_EQ(r->header("Vary"), "Accept-Encoding");
  EXPECT_EQ(get(*h, "/static/hello.txt", {{"Accept-Encoding", "gzip"}})->header("Vary"), "");
  config::StaticMount off;
  off.precompressed = false;
  EXPECT_EQ(get(*make(off), "/static/app.js", {{"Accept-Encoding", "br"}})->data, "console.log('plain');");
}

TEST_F(StaticHandlerTest, MethodsFallthroughAndOtherPaths) {
  auto h = make();
  auto r = get(*h, "/static/hello.txt", {}, "POST");
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->header("Allow"), "GET, HEAD");
  EXPECT_EQ(get(*h, "/other")->data, "app\n");
  EXPECT_EQ(get(*h, "/staticfile")->data, "app\n");
  EXPECT_EQ(app_.calls, 2);
  config::StaticMount ft;
  ft.fallthrough = true;
  auto f = make(ft);
  EXPECT_EQ(get(*f, "/static/missing")->data, "app\n");
  EXPECT_EQ(get(*f, "/static/hello.txt", {}, "POST")->data, "app\n");
  EXPECT_EQ(get(*f, "/static/.env")->status, 404);  // hidden, not handed to the app
  EXPECT_EQ(app_.calls, 4);
}

// Small settled files are answered from memory after one stat; any change to
// the file (a rename over it, a rewrite in place, removal) is seen by the very
// next request.
TEST_F(StaticHandlerTest, KeptSmallFilesAreSeenChangedAtOnce) {
  const auto past = fs::file_time_type::clock::now() - std::chrono::hours(1);
  auto settle = [&](const fs::path& p, int minutes) { fs::last_write_time(p, past + std::chrono::minutes(minutes)); };
  write(root_ / "kept.css", "body{color:red}");
  settle(root_ / "kept.css", 0);
  auto h = make();
  auto first = get(*h, "/static/kept.css");
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->data, "body{color:red}");
  EXPECT_EQ(h->cached_files(), 1u);
  auto hit = get(*h, "/static/kept.css");
  EXPECT_EQ(hit->data, "body{color:red}");
  EXPECT_EQ(hit->header("Content-Type"), "text/css; charset=utf-8");
  EXPECT_EQ(hit->header("ETag"), first->header("ETag"));
  EXPECT_EQ(hit->header("Last-Modified"), first->header("Last-Modified"));
  EXPECT_EQ(hit->header("Content-Length"), "15");
  EXPECT_EQ(get(*h, "/static/kept.css", {{"If-None-Match", first->header("ETag")}})->status, 304);
  auto part = get(*h, "/static/kept.css", {{"Range", "bytes=5-9"}});
  EXPECT_EQ(part->status, 206);
  EXPECT_EQ(part->data, "color");
  EXPECT_EQ(part->header("Content-Range"), "bytes 5-9/15");

  // Replaced by a rename (same size): the new file at once.
  write(root_ / "new.tmp", "body{color:blu}");
  settle(root_ / "new.tmp", 1);
  fs::rename(root_ / "new.tmp", root_ / "kept.css");
  auto renamed = get(*h, "/static/kept.css");
  EXPECT_EQ(renamed->data, "body{color:blu}");
  EXPECT_NE(renamed->header("ETag"), first->header("ETag"));
  // Rewritten in place, same size (and its mtime set back into the past): the new bytes.
  write(root_ / "kept.css", "body{color:grn}");
  settle(root_ / "kept.css", 2);
  EXPECT_EQ(get(*h, "/static/kept.css")->data, "body{color:grn}");
  // Truncated: the shorter file.
  write(root_ / "kept.css", "p{}");
  EXPECT_EQ(get(*h, "/static/kept.css")->data, "p{}");
  // Removed: 404, and the entry is gone.
  settle(root_ / "kept.css", 3);
  EXPECT_EQ(get(*h, "/static/kept.css")->data, "p{}");
  fs::remove(root_ / "kept.css");
  EXPECT_EQ(get(*h, "/static/kept.css")->status, 404);
  EXPECT_EQ(h->cached_files(), 0u);
  // Replaced by a symlink out of the root: refused as ever, never the kept bytes.
  write(root_ / "kept.css", "body{color:red}");
  settle(root_ / "kept.css", 4);
  EXPECT_EQ(get(*h, "/static/kept.css")->data, "body{color:red}");
  fs::remove(root_ / "kept.css");
  fs::create_symlink("../secret.txt", root_ / "kept.css");
  EXPECT_EQ(get(*h, "/static/kept.css")->status, 404);
  EXPECT_EQ(app_.calls, 0);
}

TEST_F(StaticHandlerTest, FilesModifiedJustNowAndLargeFilesAreNotKept) {
  write(root_ / "fresh.txt", "fresh");  // mtime: now
  write(root_ / "large.bin", std::string(FileCache::kDefaultMaxFile + 1, 'x'));
  fs::last_write_time(root_ / "large.bin", fs::file_time_type::clock::now() - std::chrono::hours(1));
  auto h = make();
  EXPECT_EQ(get(*h, "/static/fresh.txt")->data, "fresh");
  EXPECT_EQ(get(*h, "/static/fresh.txt")->data, "fresh");
  EXPECT_EQ(get(*h, "/static/large.bin")->data.size(), FileCache::kDefaultMaxFile + 1);
  EXPECT_EQ(h->cached_files(), 0u);
  // A file with a precompressed variant is never kept: the variant is chosen per request.
  fs::last_write_time(root_ / "app.js", fs::file_time_type::clock::now() - std::chrono::hours(1));
  EXPECT_EQ(get(*h, "/static/app.js", {{"Accept-Encoding", "br"}})->data, "BR");
  EXPECT_EQ(get(*h, "/static/app.js")->data, "console.log('plain');");
  EXPECT_EQ(h->cached_files(), 0u);
}

TEST(FileOpener, RefusesRealPathsOutsideTheRoot) {
  EXPECT_EQ(open_under("/usr", "../etc/passwd").status, OpenedFile::Status::OutsideRoot);
  UniqueFd usr(open_root("/usr"));
  ASSERT_TRUE(usr);
  EXPECT_EQ(open_under("/usr", "../etc/passwd", usr.get()).status, OpenedFile::Status::OutsideRoot);
  EXPECT_EQ(open_under("/usr", "", usr.get()).status, OpenedFile::Status::Directory);
  EXPECT_EQ(open_under("/usr", "no/such/file", usr.get()).status, OpenedFile::Status::NotFound);
  EXPECT_EQ(open_under("/usr/share", "").status, OpenedFile::Status::Directory);
  EXPECT_EQ(open_under("/usr", "no/such/file").status, OpenedFile::Status::NotFound);
}

TEST(ResponseSinkDefault, BodyFileReadsTheRegionInPieces) {
  std::string path = ::testing::TempDir() + "hearth-bodyfile";
  std::string data(200 * 1024, 'x');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
  std::ofstream(path, std::ios::binary) << data;
  UniqueFd fd(::open(path.c_str(), O_RDONLY));
  Recorded r;
  r.start(200, {}, {});
  ASSERT_TRUE(r.body_file(fd.get(), 1000, 150 * 1024));
  EXPECT_EQ(r.data, data.substr(1000, 150 * 1024));
  EXPECT_FALSE(r.body_file(fd.get(), data.size() - 10, 20));  // runs past the end
  ::unlink(path.c_str());
}

}  // namespace
}  // namespace hearth::statics
