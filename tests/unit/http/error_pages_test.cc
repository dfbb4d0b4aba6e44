#include "http/error_pages.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "http/buffered_response_sink.h"

namespace hearth::http {
namespace {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/hearth-error-pages-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf " + path_).c_str()); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ + "/" + name) << text;
    return path_ + "/" + name;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class NullTransport : public SinkTransport {
 public:
  void on_sink_output() override {}
};

std::string drain(BufferedResponseSink& s) {
  std::string out;
  for (auto v = s.next_output(); !v.empty(); v = s.next_output()) {
    out.append(v);
    s.consume(v.size());
  }
  return out;
}

config::Config two_pages(const TempDir& dir) {
  config::Config cfg;
  cfg.chdir = dir.path();
  cfg.error_pages = {{{502, 503, 504}, "50x.html"}, {{429}, dir.write("slow.json", "{\"error\": \"slow down\"}")}};
  dir.write("50x.html", "<h1>We will be right back</h1>\n");
  return cfg;
}

TEST(ErrorPages, LoadsByStatusWithContentTypeFromTheExtension) {
  TempDir dir;
  std::string err;
  auto pages = ErrorPages::load(two_pages(dir), &err);
  ASSERT_TRUE(pages) << err;
  EXPECT_EQ(pages->files(), 2u);
  for (int s : {502, 503, 504}) {
    ASSERT_NE(pages->find(s), nullptr) << s;
    EXPECT_EQ(pages->find(s)->body, "<h1>We will be right back</h1>\n");
    EXPECT_EQ(pages->find(s)->content_type, "text/html; charset=utf-8");
  }
  EXPECT_EQ(pages->find(429)->content_type, "application/json");
  EXPECT_EQ(pages->find(500), nullptr);
  EXPECT_EQ(pages->find(200), nullptr);
  EXPECT_EQ(pages->find(999), nullptr);
}

TEST(ErrorPages, MissingFileSaysWhich) {
  TempDir dir;
  config::Config cfg;
  cfg.error_pages = {{{503}, dir.path() + "/nope.html"}};
  std::string err;
  EXPECT_FALSE(ErrorPages::load(cfg, &err));
  EXPECT_EQ(err, "error_page[0].file: cannot read '" + dir.path() + "/nope.html': No such file or directory");
}

TEST(ErrorPages, ContentTypes) {
  EXPECT_EQ(ErrorPages::content_type_for("/x/a.HTM"), "text/html; charset=utf-8");
  EXPECT_EQ(ErrorPages::content_type_for("a.txt"), "text/plain; charset=utf-8");
  EXPECT_EQ(ErrorPages::content_type_for("/dir.d/page"), "text/html; charset=utf-8");
}

TEST(ErrorPages, SimpleUsesThePageOnlyForItsStatuses) {
  TempDir dir;
  std::string err;
  auto pages = std::make_shared<const ErrorPages>(*ErrorPages::load(two_pages(dir), &err));
  config::HttpLimits limits;
  DateCache date;
  NullTransport transport;

  BufferedResponseSink::Options o;
  o.error_pages = pages;
  BufferedResponseSink s503(limits, "/tmp", &date, &transport, o);
  s503.simple(503, "text/plain", "Service Unavailable: queue full\n", {{"Retry-After", "1"}});
  std::string wire = drain(s503);
  EXPECT_NE(wire.find("Content-Type: text/html; charset=utf-8\r\n"), std::string::npos) << wire;
  EXPECT_NE(wire.find("Retry-After: 1\r\n"), std::string::npos) << wire;
  EXPECT_EQ(wire.substr(wire.find("\r\n\r\n") + 4), "<h1>We will be right back</h1>\n");

  BufferedResponseSink s500(limits, "/tmp", &date, &transport, o);  // no page for 500
  s500.simple(500, "text/plain", "500 Internal Server Error\n");
  wire = drain(s500);
  EXPECT_EQ(wire.substr(wire.find("\r\n\r\n") + 4), "500 Internal Server Error\n");

  BufferedResponseSink app(limits, "/tmp", &date, &transport, o);  // the app's own 503
  app.start(503, "", {{"Content-Type", "text/plain"}, {"Content-Length", "4"}});
  app.body("mine");
  app.finish(true);
  wire = drain(app);
  EXPECT_EQ(wire.substr(wire.find("\r\n\r\n") + 4), "mine");
}

}  // namespace
}  // namespace hearth::http
