// [[static]] mounts and http.via: parsing, --static, and the cross-field rules
// (prefix shape, the directory must exist, duplicates).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "config/loader.h"
#include "config/summary.h"
#include "config/validate.h"
#include "load_text.h"
#include "temp_file.h"

namespace hearth::config {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using testing::all_errors;

TEST(StaticKeys, NoneByDefaultAndViaOff) {
  TempDir dir;
  LoadResult r = load_file_only(dir.write("t.toml", "app = \"a:app\"\n"), 2);
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  EXPECT_TRUE(r.config->statics.empty());
  EXPECT_FALSE(r.config->http.via);
}

TEST(StaticKeys, AllKeysParseAndRoundTripThroughTheSummary) {
  TempDir dir;
  std::filesystem::create_directory(dir.path() + "/assets");
  std::string text = "app = \"a:app\"\n[http]\nvia = true\n[[static]]\nprefix = \"/static/\"\ndir = \"" + dir.path() +
                     "/assets\"\ncache_control = \"public, max-age=60\"\nallow_dotfiles = true\nindex = \"\"\n"
                     "precompressed = false\nfallthrough = true\n[[static]]\nprefix = \"/media\"\ndir = \"" +
                     dir.path() + "\"\n";
  LoadResult r = load_file_only(dir.write("t.toml", text), 2);
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  EXPECT_TRUE(r.config->http.via);
  ASSERT_EQ(r.config->statics.size(), 2u);
  const StaticMount& a = r.config->statics[0];
  EXPECT_EQ(a.prefix, "/static/");
  EXPECT_EQ(a.cache_control, "public, max-age=60");
  EXPECT_TRUE(a.allow_dotfiles);
  EXPECT_EQ(a.index, "");
  EXPECT_FALSE(a.precompressed);
  EXPECT_TRUE(a.fallthrough);
  const StaticMount& b = r.config->statics[1];
  EXPECT_EQ(b.prefix, "/media");
  EXPECT_EQ(b.index, "index.html");
  EXPECT_TRUE(b.precompressed);
  EXPECT_FALSE(b.allow_dotfiles);
  EXPECT_FALSE(b.fallthrough);

  std::string summary = to_toml(*r.config);
  EXPECT_THAT(summary, HasSubstr("[[static]]\nprefix = \"/static/\"\n"));
  LoadResult back = load_file_only(dir.write("back.toml", summary), 2);
  ASSERT_TRUE(back.errors.empty()) << all_errors(back);
  EXPECT_EQ(back.config->statics.size(), 2u);
  EXPECT_EQ(back.config->statics[0].cache_control, "public, max-age=60");
}

TEST(StaticKeys, BrokenEntriesAreErrorsWithTheirPlace) {
  TempDir dir;
  auto errors = [&](const std::string& body) {
    return all_errors(load_file_only(dir.write("t.toml", "app = \"a:app\"\n" + body), 2));
  };
  EXPECT_THAT(errors("[[static]]\nprefix = \"/s/\"\ndri = \"/tmp\"\n"),
              HasSubstr("t.toml:4:1: unknown key 'static[0].dri' (did you mean 'dir'?)"));
  EXPECT_THAT(errors("[[static]]\nprefix = \"/s/\"\n"), HasSubstr("static[0]: needs both prefix and dir"));
  EXPECT_THAT(errors("[[static]]\nprefix = \"/s/\"\ndir = \"/\"\nfallthrough = \"yes\"\n"),
              HasSubstr("static[0].fallthrough: expected true or false, got \"yes\""));
  EXPECT_THAT(errors("static = 3\n"), HasSubstr("static: expected an array of tables ([[static]]), got 3"));
  EXPECT_THAT(errors("[[static]]\nprefix = \"s/\"\ndir = \"/\"\n"),
              HasSubstr("static[0].prefix: must start with '/', got 's/'"));
  EXPECT_THAT(errors("[[static]]\nprefix = \"/a/%2e/\"\ndir = \"/\"\n"), HasSubstr("static[0].prefix: a plain URL path"));
  EXPECT_THAT(errors("[[static]]\nprefix = \"/s/\"\ndir = \"" + dir.path() + "/missing\"\n"),
              HasSubstr("static[0].dir: cannot use '" + dir.path() + "/missing': No such file or directory"));
  EXPECT_THAT(errors("[[static]]\nprefix = \"/s/\"\ndir = \"" + dir.write("f", "x") + "\"\n"),
              HasSubstr("is not a directory"));
  EXPECT_THAT(errors("[[static]]\nprefix = \"/s\"\ndir = \"/\"\n[[static]]\nprefix = \"/s/\"\ndir = \"/\"\n"),
              HasSubstr("static[1].prefix: '/s/' is already mounted by static[0]"));
  EXPECT_THAT(errors("[[static]]\nprefix = \"/s/\"\ndir = \"/\"\nindex = \"a/b.html\"\n"),
              HasSubstr("static[0].index: a file name without '/'"));
}

TEST(StaticKeys, RelativeDirIsTakenFromChdir) {
  Config c;
  StaticMount m;
  m.dir = "static";
  EXPECT_EQ(static_root(c, m), "static");
  c.chdir = "/srv/app";
  EXPECT_EQ(static_root(c, m), "/srv/app/static");
  m.dir = "/abs";
  EXPECT_EQ(static_root(c, m), "/abs");
}

TEST(StaticKeys, CliFlagAddsMountsAndIsChecked) {
  TempDir dir;
  LoadInputs in;
  in.args = {"a:app", "--static", "/static=" + dir.path(), "--static=/media/=" + dir.path()};
  LoadResult r = load(in);
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  ASSERT_EQ(r.config->statics.size(), 2u);
  EXPECT_EQ(r.config->statics[0].prefix, "/static");
  EXPECT_EQ(r.config->statics[1].prefix, "/media/");
  EXPECT_EQ(r.config->statics[1].dir, dir.path());
  EXPECT_TRUE(r.config->statics[1].precompressed);

  in.args = {"a:app", "--static", "/static"};
  EXPECT_THAT(all_errors(load(in)), HasSubstr("--static: expected PREFIX=DIR"));
  in.args = {"a:app", "--static", "/static=" + dir.path() + "/nope"};
  EXPECT_THAT(all_errors(load(in)), HasSubstr("--static: static[0].dir: cannot use"));
}

}  // namespace
}  // namespace hearth::config
