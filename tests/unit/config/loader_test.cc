#include "config/loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/summary.h"
#include "config/validate.h"
#include "temp_file.h"

namespace hearth::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using std::chrono::seconds;
using testing::TempDir;

LoadResult run(std::vector<std::string> args, std::map<std::string, std::string> env = {}, unsigned cores = 4) {
  LoadInputs in;
  in.args = std::move(args);
  in.env = std::move(env);
  in.cores = cores;
  in.default_runtime_dir = "/opt/hearth/python";
  return load(in);
}

std::vector<std::string> bind_texts(const Config& c) {
  std::vector<std::string> out;
  for (const auto& b : c.binds) out.push_back(b.text);
  return out;
}

TEST(Loader, Defaults) {
  LoadResult r = run({"app:wsgi"}, {}, 4);
  ASSERT_TRUE(r.config) << ::testing::PrintToString(r.errors);
  const Config& c = *r.config;
  EXPECT_EQ(c.config_file, "");
  EXPECT_THAT(bind_texts(c), ElementsAre("127.0.0.1:8000"));
  EXPECT_EQ(c.binds[0].host, "127.0.0.1");
  EXPECT_EQ(c.binds[0].port, 8000);
  EXPECT_EQ(c.workers, 9u) << "2 x 4 cores + 1";
  EXPECT_EQ(c.threads, 1u);
  EXPECT_TRUE(c.preload);
  EXPECT_EQ(c.python, "/usr/bin/python3");
  EXPECT_EQ(c.timeout, seconds(30));
  EXPECT_EQ(c.runtime_dir, "/opt/hearth/python");
  EXPECT_FALSE(c.admin_bind);
}

TEST(Loader, WorkersDefaultFollowsCores) {
  EXPECT_EQ(run({"app:wsgi"}, {}, 1).config->workers, 3u);
  EXPECT_EQ(run({"app:wsgi"}, {}, 0).config->workers, 3u) << "unknown core count counts as 1";
  EXPECT_EQ(run({"app:wsgi"}, {}, 16).config->workers, 33u);
}

TEST(Loader, PrecedenceCliOverEnvOverFileOverDefault) {
  TempDir dir;
  std::string file = dir.write("h.toml", R"(
app = "file:app"
workers = 3
threads = 2
bind = ["127.0.0.1:7000", "127.0.0.1:7001"]
timeout = "40s"
)");
  // File over defaults.
  LoadResult f = run({"-c", file});
  ASSERT_TRUE(f.config) << ::testing::PrintToString(f.errors);
  EXPECT_EQ(f.config->config_file, file);
  EXPECT_EQ(f.config->app, "file:app");
  EXPECT_EQ(f.config->workers, 3u);
  EXPECT_EQ(f.config->threads, 2u);
  EXPECT_EQ(f.config->timeout, seconds(40));
  EXPECT_EQ(f.config->graceful_timeout, seconds(30)) << "untouched keys keep their defaults";
  EXPECT_THAT(bind_texts(*f.config), ElementsAre("127.0.0.1:7000", "127.0.0.1:7001"));

  // Env over file.
  LoadResult e = run({"-c", file}, {{"WEB_CONCURRENCY", "5"}, {"PORT", "9000"}});
  ASSERT_TRUE(e.config) << ::testing::PrintToString(e.errors);
  EXPECT_EQ(e.config->workers, 5u);
  EXPECT_THAT(bind_texts(*e.config), ElementsAre("0.0.0.0:9000"));
  EXPECT_EQ(e.config->binds[0].host, "0.0.0.0");
  EXPECT_EQ(e.config->binds[0].port, 9000);

  // CLI over env and file.
  LoadResult c = run({"-c", file, "-w", "7", "-b", "127.0.0.1:6000", "--threads", "4", "cli:app"},
                     {{"WEB_CONCURRENCY", "5"}, {"PORT", "9000"}});
  ASSERT_TRUE(c.config) << ::testing::PrintToString(c.errors);
  EXPECT_EQ(c.config->app, "cli:app");
  EXPECT_EQ(c.config->workers, 7u);
  EXPECT_EQ(c.config->threads, 4u);
  EXPECT_THAT(bind_texts(*c.config), ElementsAre("127.0.0.1:6000")) << "-b replaces file binds and $PORT";
}

TEST(Loader, PortWithoutFile) {
  LoadResult r = run({"app:wsgi"}, {{"PORT", "5000"}});
  ASSERT_TRUE(r.config);
  EXPECT_THAT(bind_texts(*r.config), ElementsAre("0.0.0.0:5000"));
}

TEST(Loader, EmptyEnvironmentVariablesAreUnset) {
  LoadResult r = run({"app:wsgi"}, {{"PORT", ""}, {"WEB_CONCURRENCY", ""}, {"HEARTH_CONFIG", ""}}, 2);
  ASSERT_TRUE(r.config) << ::testing::PrintToString(r.errors);
  EXPECT_THAT(bind_texts(*r.config), ElementsAre("127.0.0.1:8000"));
  EXPECT_EQ(r.config->workers, 5u);
}

TEST(Loader, BadEnvironmentNamesTheVariable) {
  LoadResult r = run({"app:wsgi"}, {{"PORT", "abc"}, {"WEB_CONCURRENCY", "lots"}});
  EXPECT_FALSE(r.config);
  EXPECT_THAT(r.errors, ElementsAre("$PORT: expected a port number, got 'abc'",
                                    "$WEB_CONCURRENCY: expected a non-negative integer, got 'lots'"));
  EXPECT_THAT(run({"app:wsgi"}, {{"PORT", "70000"}}).errors,
              ElementsAre("$PORT: expected a port number, got '70000'"));
}

TEST(Loader, CliMakesUnusedEnvironmentIrrelevant) {
  LoadResult r = run({"app:wsgi", "-b", ":1234", "-w", "2"}, {{"PORT", "abc"}, {"WEB_CONCURRENCY", "lots"}});
  ASSERT_TRUE(r.config) << ::testing::PrintToString(r.errors);
  EXPECT_THAT(bind_texts(*r.config), ElementsAre(":1234"));
  EXPECT_EQ(r.config->workers, 2u);
}

TEST(Loader, HearthConfigNamesTheFileWhenNoDashC) {
  TempDir dir;
  std::string a = dir.write("a.toml", "app = \"a:app\"\n");
  std::string b = dir.write("b.toml", "app = \"b:app\"\n");
  EXPECT_EQ(run({}, {{"HEARTH_CONFIG", a}}).config->app, "a:app");
  EXPECT_EQ(run({"-c", b}, {{"HEARTH_CONFIG", a}}).config->app, "b:app") << "-c wins";
  LoadResult missing = run({}, {{"HEARTH_CONFIG", dir.path() + "/nope.toml"}});
  ASSERT_EQ(missing.errors.size(), 1u) << "no validation noise after an unreadable file";
  EXPECT_THAT(missing.errors[0], HasSubstr("nope.toml: cannot read config file: No such file or directory"));
  EXPECT_THAT(missing.errors[0], HasSubstr("(named by $HEARTH_CONFIG)"));
}

TEST(Loader, RuntimeDirFromEnvironment) {
  EXPECT_EQ(run({"app:wsgi"}, {{"HEARTH_RUNTIME_DIR", "/x/python"}}).config->runtime_dir, "/x/python");
}

TEST(Loader, UnreadableAndDirectoryFiles) {
  TempDir dir;
  EXPECT_THAT(run({"-c", dir.path() + "/missing.toml", "app:wsgi"}).errors,
              ElementsAre(HasSubstr("missing.toml: cannot read config file: No such file or directory")));
  EXPECT_THAT(run({"-c", dir.path(), "app:wsgi"}).errors,
              ElementsAre(HasSubstr(": cannot read config file: Is a directory")));
}

TEST(Loader, ErrorsFromEveryStageAreCollected) {
  TempDir dir;
  std::string file = dir.write("h.toml", "threads = \"x\"\nworkrs = 2\n");
  LoadResult r = run({"-c", file, "--timeout", "never", "--bogus", "app:wsgi"}, {{"PORT", "x"}});
  EXPECT_FALSE(r.config);
  EXPECT_THAT(r.errors, ElementsAre("--bogus: unknown option (see --help)",
                                    file + ":1:11: threads: expected a non-negative integer, got \"x\"",
                                    file + ":2:1: unknown key 'workrs' (did you mean 'workers'?)",
                                    "$PORT: expected a port number, got 'x'",
                                    HasSubstr("--timeout: expected a duration")));
}

TEST(Loader, ValidationPointsAtTheSource) {
  TempDir dir;
  std::string file = dir.write("h.toml", "app = \"app:wsgi\"\nthreads = 0\ntimeout = 0\n[http]\nmax_headers = 0\n");
  LoadResult r = run({"-c", file});
  EXPECT_THAT(r.errors, ElementsAre(file + ":2:11: threads: must be at least 1",
                                    file + ":5:15: http.max_headers: must be at least 1",
                                    file + ":3:11: timeout: must be greater than 0"));
  EXPECT_THAT(run({"-c", file, "--threads", "2", "-t", "0s", "--keep-alive", "0"}).errors,
              ElementsAre(file + ":5:15: http.max_headers: must be at least 1", "-t: must be greater than 0",
                          "--keep-alive: must be greater than 0"));
}

TEST(Loader, ValidationOfAppPythonAndBinds) {
  EXPECT_THAT(run({}).errors,
              ElementsAre("no application given: pass MODULE:CALLABLE or set app in the config file"));
  EXPECT_THAT(run({"notanapp"}).errors, ElementsAre(HasSubstr("APP: expected MODULE:CALLABLE")));
  EXPECT_THAT(run({"app:wsgi", "--python="}).errors, ElementsAre("--python: must not be empty"));
  EXPECT_THAT(run({"app:wsgi", "-b", ":80", "-b", "127.0.0.1:80"}).errors,
              ElementsAre("-b: '127.0.0.1:80' duplicates ':80'"));
  EXPECT_THAT(run({"app:wsgi", "-b", "unix:/a", "-b", "unix:/a"}).errors,
              ElementsAre("-b: 'unix:/a' duplicates 'unix:/a'"));
  EXPECT_THAT(run({"app:wsgi", "--admin-bind", "localhost:8000"}).errors,
              ElementsAre("--admin-bind: 'localhost:8000' is also an application bind ('127.0.0.1:8000')"));
  EXPECT_THAT(run({"app:wsgi", "--admin-bind", "127.0.0.1:8001"}).errors, IsEmpty());
}

TEST(Loader, WebConcurrencyZeroMeansDefault) {
  EXPECT_EQ(run({"app:wsgi"}, {{"WEB_CONCURRENCY", "0"}}, 2).config->workers, 5u);
}

TEST(Loader, FileOnly) {
  TempDir dir;
  std::string file = dir.write("h.toml", "app = \"m:app\"\nworkers = 0\n");
  LoadResult r = load_file_only(file, 3);
  ASSERT_TRUE(r.config) << ::testing::PrintToString(r.errors);
  EXPECT_EQ(r.action, Action::Run);
  EXPECT_EQ(r.config->workers, 7u);
  EXPECT_EQ(r.config->config_file, file);
  EXPECT_THAT(bind_texts(*r.config), ElementsAre("127.0.0.1:8000"));
  std::string bad = dir.write("bad.toml", "workers = \"x\"\n");
  EXPECT_THAT(load_file_only(bad, 1).errors,
              ElementsAre(bad + ":1:11: workers: expected a non-negative integer, got \"x\"",
                          "no application given: pass MODULE:CALLABLE or set app in the config file"));
}

TEST(AppSpec, Shapes) {
  for (const char* good : {"app:application", "my_project.wsgi:app", "a.b.c:create_app()", "_m:_x", "m2:App2"}) {
    EXPECT_TRUE(is_app_spec(good)) << good;
  }
  for (const char* bad : {"", "app", ":app", "app:", "a..b:app", ".a:app", "a.:app", "1a:app", "a:1x", "a:b()x",
                          "a:()", "a:b(1)", "a-b:app", "a:b:c", "a:b.c"}) {
    EXPECT_FALSE(is_app_spec(bad)) << bad;
  }
}

TEST(Summary, IsALoadableConfigThatRoundTrips) {
  TempDir dir;
  std::string file = dir.write("h.toml", R"(
app = "site.wsgi:application"
pythonpath = ["/a", "/b"]
env = { "QUOTE\"D" = "x\\y\n" }
bind = ["[::1]:9000", "unix:/run/x.sock", ":9001"]
admin_bind = "127.0.0.1:9100"
timeout = 1.5
forwarded_allow_ips = "*"
[http]
max_body_size = "3MB"
keepalive_timeout = "1m30s"
)");
  LoadResult first = load_file_only(file, 2);
  ASSERT_TRUE(first.config) << ::testing::PrintToString(first.errors);
  std::string text = to_toml(*first.config);
  std::string again_file = dir.write("again.toml", text);
  LoadResult second = load_file_only(again_file, 2);
  ASSERT_TRUE(second.config) << ::testing::PrintToString(second.errors) << "\n" << text;
  Config a = *first.config, b = *second.config;
  b.config_file = a.config_file;
  EXPECT_EQ(to_toml(a), to_toml(b));
  EXPECT_EQ(b.env.at("QUOTE\"D"), "x\\y\n");
  EXPECT_EQ(b.timeout, Millis(1500));
  EXPECT_EQ(b.http.max_body_size, 3'000'000u);
  EXPECT_THAT(text, HasSubstr("bind = [\"[::1]:9000\", \"unix:/run/x.sock\", \"0.0.0.0:9001\"]"));
}

}  // namespace
}  // namespace hearth::config

namespace hearth::config {
namespace {

TEST(Loader, PrivilegeAndTokenKeysFromFileEnvAndCli) {
  TempDir dir;
  std::string file = dir.write("h.toml", R"(
app = "file:app"
user = "www-data"
group = "www"
allow_root = true
metrics_token = "from-file"
)");
  LoadResult f = run({"-c", file});
  ASSERT_TRUE(f.config) << ::testing::PrintToString(f.errors);
  EXPECT_EQ(f.config->user, "www-data");
  EXPECT_EQ(f.config->group, "www");
  EXPECT_TRUE(f.config->allow_root);
  EXPECT_EQ(f.config->metrics_token, "from-file");

  LoadResult e = run({"-c", file}, {{"HEARTH_ALLOW_ROOT", "0"}, {"HEARTH_METRICS_TOKEN", "from-env"}});
  ASSERT_TRUE(e.config) << ::testing::PrintToString(e.errors);
  EXPECT_FALSE(e.config->allow_root) << "env over file";
  EXPECT_EQ(e.config->metrics_token, "from-env");

  LoadResult c = run({"-c", file, "--allow-root", "-u", "nobody", "-g", "nogroup", "--metrics-token", "cli"},
                     {{"HEARTH_ALLOW_ROOT", "0"}, {"HEARTH_METRICS_TOKEN", "from-env"}});
  ASSERT_TRUE(c.config) << ::testing::PrintToString(c.errors);
  EXPECT_TRUE(c.config->allow_root) << "CLI over env";
  EXPECT_EQ(c.config->user, "nobody");
  EXPECT_EQ(c.config->group, "nogroup");
  EXPECT_EQ(c.config->metrics_token, "cli");

  EXPECT_FALSE(run({"app:wsgi"}).config->allow_root) << "off by default";
  EXPECT_TRUE(run({"app:wsgi"}, {{"HEARTH_ALLOW_ROOT", "1"}}).config->allow_root);
  EXPECT_THAT(run({"app:wsgi"}, {{"HEARTH_ALLOW_ROOT", "maybe"}}).errors,
              ElementsAre("$HEARTH_ALLOW_ROOT: expected 1 or 0, got 'maybe'"));
}

TEST(Loader, CheckConfigNeverPrintsTheMetricsToken) {
  LoadResult r = run({"app:wsgi", "--metrics-token", "hunter2"});
  ASSERT_TRUE(r.config);
  std::string out = to_toml(*r.config);
  EXPECT_EQ(out.find("hunter2"), std::string::npos);
  EXPECT_NE(out.find("metrics_token = \"(set)\""), std::string::npos) << out;
}

}  // namespace
}  // namespace hearth::config
