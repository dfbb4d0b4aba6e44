// [[apps]] (docs/several-apps.md): parsing over the top level, inheritance of
// per-app keys, and the errors (mixing with `app`, names, routes, unknown and
// daemon-wide keys in a block), each with its file:line:col.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/apps.h"
#include "config/loader.h"
#include "config/summary.h"
#include "load_text.h"
#include "temp_file.h"

namespace hearth::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::TempDir;
using testing::all_errors;

LoadResult load_apps(const std::string& text) {
  TempDir dir;
  return load_file_only(dir.write("t.toml", text), 2);
}

const char* kThree =
    "workers = 3\n"
    "timeout = \"20s\"\n"
    "[[apps]]\n"
    "name = \"api\"\n"
    "app = \"api.wsgi:application\"\n"
    "hosts = [\"api.example.com\", \"*.api.example.com\"]\n"
    "workers = 2\n"
    "[apps.health]\n"
    "path = \"/healthz\"\n"
    "[[apps]]\n"
    "name = \"blog\"\n"
    "app = \"blog:app\"\n"
    "prefix = \"/blog\"\n"
    "chdir = \"/srv/blog\"\n"
    "env = { BLOG = \"1\" }\n"
    "[[apps]]\n"
    "name = \"site\"\n"
    "app = \"site.asgi:app\"\n"
    "interface = \"asgi\"\n"
    "[http]\n"
    "max_body_size = \"1MiB\"\n";

TEST(AppsKeys, ThreeAppsEachOverTheTopLevel) {
  LoadResult r = load_apps(kThree);
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  const Config& c = *r.config;
  ASSERT_EQ(c.apps.size(), 3u);
  EXPECT_TRUE(c.app.empty());
  const AppConfig& api = c.apps[0];
  EXPECT_EQ(api.name, "api");
  EXPECT_EQ(api.hosts, (std::vector<std::string>{"api.example.com", "*.api.example.com"}));
  EXPECT_EQ(api.prefix, "");
  EXPECT_EQ(api.settings->app, "api.wsgi:application");
  EXPECT_EQ(api.settings->workers, 2u);
  EXPECT_EQ(api.settings->health.path, "/healthz");
  EXPECT_EQ(api.settings->timeout, Millis(20000));  // inherited from the top level
  const AppConfig& blog = c.apps[1];
  EXPECT_EQ(blog.prefix, "/blog");
  EXPECT_EQ(blog.settings->workers, 3u);  // the top level's
  EXPECT_EQ(blog.settings->chdir, "/srv/blog");
  EXPECT_EQ(blog.settings->env.at("BLOG"), "1");
  EXPECT_TRUE(blog.settings->health.path.empty());  // api's [apps.health] stays api's
  EXPECT_EQ(c.apps[2].settings->interface, "asgi");
  // Daemon-wide keys set after the blocks reach every app's settings too.
  for (const auto& a : c.apps) EXPECT_EQ(a.settings->http.max_body_size, 1u << 20) << a.name;
  EXPECT_THAT(to_toml(c), HasSubstr("[[apps]]\nname = \"blog\""));
}

TEST(AppsKeys, TheSingleAppFormIsOneDefaultEntry) {
  LoadResult r = testing::load_text("workers = 2\n");
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  EXPECT_TRUE(r.config->apps.empty());
  auto apps = apps_of(r.config);
  ASSERT_EQ(apps.size(), 1u);
  EXPECT_EQ(apps[0].name, "app");
  EXPECT_TRUE(apps[0].hosts.empty());
  EXPECT_EQ(apps[0].prefix, "");
  EXPECT_EQ(apps[0].settings.get(), r.config.get());
}

TEST(AppsKeys, TopLevelAppWithAppsIsAnError) {
  LoadResult r = load_apps("app = \"a:app\"\n[[apps]]\nname = \"x\"\napp = \"x:app\"\n");
  EXPECT_THAT(all_errors(r), HasSubstr("t.toml:1:7: app: cannot be combined with [[apps]]"));
}

TEST(AppsKeys, TheCommandLineAppWithAppsIsAnError) {
  TempDir dir;
  std::string path = dir.write("t.toml", "[[apps]]\nname = \"x\"\napp = \"x:app\"\n");
  LoadInputs in;
  in.args = {"-c", path, "other:app"};
  in.cores = 2;
  LoadResult r = load(in);
  EXPECT_THAT(all_errors(r), HasSubstr("APP: cannot be combined with [[apps]]"));
}

TEST(AppsKeys, NamesAreRequiredValidAndUnique) {
  LoadResult r = load_apps(
      "[[apps]]\napp = \"a:app\"\nprefix = \"/a\"\n"
      "[[apps]]\nname = \"Bad Name\"\napp = \"b:app\"\nprefix = \"/b\"\n"
      "[[apps]]\nname = \"c\"\napp = \"c:app\"\nprefix = \"/c\"\n"
      "[[apps]]\nname = \"c\"\napp = \"d:app\"\nprefix = \"/d\"\n");
  std::string e = all_errors(r);
  EXPECT_THAT(e, HasSubstr("t.toml:1:1: apps[0]: `name` is required"));
  EXPECT_THAT(e, HasSubstr("t.toml:5:8: apps[1].name: 'Bad Name' is not a valid app name"));
  EXPECT_THAT(e, HasSubstr("t.toml:13:8: apps[3].name: 'c' is already the name of apps[2]"));
}

TEST(AppsKeys, TwoEntriesWithTheSameRouteAreAnError) {
  LoadResult r = load_apps(
      "[[apps]]\nname = \"a\"\napp = \"a:app\"\nhosts = [\"x.example.com\"]\nprefix = \"/p\"\n"
      "[[apps]]\nname = \"b\"\napp = \"b:app\"\nhosts = \"X.example.com\"\nprefix = \"/p/\"\n");
  std::string e = all_errors(r);
  EXPECT_THAT(e, HasSubstr("t.toml:1:1: apps: entries \"a\" and \"b\" both route"));
}

TEST(AppsKeys, RouterShapeErrorsAreReported) {
  LoadResult r = load_apps("[[apps]]\nname = \"a\"\napp = \"a:app\"\nhosts = [\"a*.example.com\"]\nprefix = \"blog\"\n");
  std::string e = all_errors(r);
  EXPECT_THAT(e, HasSubstr("malformed wildcard host"));
  EXPECT_THAT(e, HasSubstr("prefix \"blog\""));
}

TEST(AppsKeys, UnknownKeyInABlockSuggestsTheRightOne) {
  LoadResult r = load_apps("[[apps]]\nname = \"a\"\napp = \"a:app\"\nwokers = 2\n");
  EXPECT_THAT(all_errors(r),
              HasSubstr("t.toml:4:1: unknown key 'wokers' in an [[apps]] block (did you mean 'workers'?)"));
  LoadResult h = load_apps("[[apps]]\nname = \"a\"\napp = \"a:app\"\n[apps.health]\npaht = \"/h\"\n");
  EXPECT_THAT(all_errors(h), HasSubstr("t.toml:5:1: unknown key 'health.paht' in an [[apps]] block (did you mean "
                                       "'health.path'?)"));
}

TEST(AppsKeys, DaemonWideKeysAreRefusedInABlock) {
  LoadResult r = load_apps("[[apps]]\nname = \"a\"\napp = \"a:app\"\nbind = \"127.0.0.1:9000\"\n[apps.http]\nvia = true\n");
  std::string e = all_errors(r);
  EXPECT_THAT(e, HasSubstr("t.toml:4:1: 'bind' cannot be set in an [[apps]] block"));
  EXPECT_THAT(e, HasSubstr("'http' cannot be set in an [[apps]] block"));
}

TEST(AppsKeys, EachAppIsValidatedWithItsPosition) {
  LoadResult r = load_apps(
      "[[apps]]\nname = \"a\"\napp = \"not a spec\"\n"
      "[[apps]]\nname = \"b\"\napp = \"b:app\"\nprefix = \"/b\"\nthreads = 1000\n"
      "[[apps]]\nname = \"c\"\nprefix = \"/c\"\n");
  std::string e = all_errors(r);
  EXPECT_THAT(e, HasSubstr("t.toml:3:7: app: expected MODULE:CALLABLE"));
  EXPECT_THAT(e, HasSubstr("(in [[apps]] a)"));
  EXPECT_THAT(e, HasSubstr("t.toml:8:11: threads: must be at most 256, got 1000 (in [[apps]] b)"));
  EXPECT_THAT(e, HasSubstr("t.toml:9:1: [[apps]] c: `app` is required"));
  EXPECT_THAT(e, Not(HasSubstr("no application given")));
}

TEST(AppsKeys, ATopLevelErrorIsReportedOnce) {
  LoadResult r = load_apps("threads = 1000\n[[apps]]\nname = \"a\"\napp = \"a:app\"\n[[apps]]\nname = \"b\"\n"
                           "app = \"b:app\"\nprefix = \"/b\"\n");
  std::string e = all_errors(r);
  size_t first = e.find("threads: must be at most 256");
  ASSERT_NE(first, std::string::npos) << e;
  EXPECT_EQ(e.find("threads: must be at most 256", first + 1), std::string::npos) << e;
}

TEST(AppsKeys, TheExampleConfigLoads) {
  LoadResult r = load_file_only(std::string(HEARTH_SOURCE_DIR) + "/conf/several-apps.toml", 2);
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  ASSERT_EQ(r.config->apps.size(), 3u);
  EXPECT_EQ(r.config->apps[0].settings->health.path, "/healthz");
  EXPECT_EQ(r.config->apps[1].prefix, "/blog");
  EXPECT_EQ(r.config->apps[2].settings->warmup.requests.size(), 1u);
  for (const auto& a : r.config->apps) EXPECT_EQ(a.settings->python, "/srv/venv/bin/python") << a.name;
}

TEST(AppsKeys, AppNames) {
  EXPECT_TRUE(is_app_name("blog_2-x"));
  EXPECT_FALSE(is_app_name(""));
  EXPECT_FALSE(is_app_name("Blog"));
  EXPECT_FALSE(is_app_name("a.b"));
  EXPECT_FALSE(is_app_name(std::string(65, 'a')));
  EXPECT_TRUE(is_app_block_key("health.path"));
  EXPECT_TRUE(is_app_block_key("workers"));
  EXPECT_FALSE(is_app_block_key("bind"));
  EXPECT_FALSE(is_app_block_key("http.via"));
  EXPECT_FALSE(is_app_block_key("health.nope"));
}

}  // namespace
}  // namespace hearth::config
