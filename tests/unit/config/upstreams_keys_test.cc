// [[upstreams]] (docs/several-apps.md, "Upstreams"): parsing, defaults from
// the top level, and the errors with file:line:col (names shared with the
// apps, servers xor command, keys only for a command, routes with the apps).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/loader.h"
#include "config/upstreams.h"
#include "load_text.h"
#include "temp_file.h"

namespace hearth::config {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using testing::all_errors;

LoadResult load(const std::string& text) {
  TempDir dir;
  return load_file_only(dir.write("t.toml", text), 2);
}

TEST(ServerAddress, Forms) {
  auto a = parse_server_address("127.0.0.1:3000");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->kind, ServerAddress::Kind::Tcp);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 3000);
  auto v6 = parse_server_address("[::1]:80");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  auto u = parse_server_address("unix:/run/x.sock");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->kind, ServerAddress::Kind::Unix);
  EXPECT_EQ(u->path, "/run/x.sock");
  for (const char* bad : {"127.0.0.1", "127.0.0.1:0", ":80", "::1:80", "h:99999", "h:8x", "unix:", "[]:1"})
    EXPECT_FALSE(parse_server_address(bad)) << bad;
}

TEST(UpstreamsKeys, ServersAndCommandNextToTheSingleApp) {
  LoadResult r = load(
      "app = \"site:app\"\n"
      "timeout = \"20s\"\n"
      "[[upstreams]]\n"
      "name = \"api\"\n"
      "hosts = [\"api.example.com\"]\n"
      "servers = [\"127.0.0.1:3000\", \"unix:/run/api.sock\"]\n"
      "connect_timeout = \"2s\"\n"
      "[upstreams.health]\n"
      "path = \"/healthz\"\n"
      "interval = \"3s\"\n"
      "[[upstreams]]\n"
      "name = \"node\"\n"
      "prefix = \"/socket\"\n"
      "strip_prefix = true\n"
      "command = \"node server.js\"\n"
      "env = { NODE_ENV = \"production\" }\n"
      "chdir = \"/srv/node\"\n"
      "socket = true\n"
      "timeout = 5\n");
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  const Config& c = *r.config;
  ASSERT_EQ(c.upstreams.size(), 2u);
  const UpstreamConfig& api = c.upstreams[0];
  EXPECT_EQ(api.name, "api");
  EXPECT_EQ(api.hosts, std::vector<std::string>{"api.example.com"});
  EXPECT_EQ(api.servers, (std::vector<std::string>{"127.0.0.1:3000", "unix:/run/api.sock"}));
  EXPECT_TRUE(api.command.empty());
  EXPECT_EQ(api.timeout, Millis(20000));  // the top level's
  EXPECT_EQ(api.connect_timeout, Millis(2000));
  EXPECT_EQ(api.health_path, "/healthz");
  EXPECT_EQ(api.health_interval, Millis(3000));
  const UpstreamConfig& node = c.upstreams[1];
  EXPECT_EQ(node.prefix, "/socket");
  EXPECT_TRUE(node.strip_prefix);
  EXPECT_EQ(node.command, "node server.js");
  EXPECT_EQ(node.env.at("NODE_ENV"), "production");
  EXPECT_EQ(node.chdir, "/srv/node");
  EXPECT_TRUE(node.socket);
  EXPECT_EQ(node.timeout, Millis(5000));
  EXPECT_EQ(node.connect_timeout, Millis(5000));  // the default
  EXPECT_EQ(node.health_path, "");
}

TEST(UpstreamsKeys, NextToApps) {
  LoadResult r = load(
      "[[apps]]\nname = \"site\"\napp = \"site:app\"\n"
      "[[upstreams]]\nname = \"blog\"\nprefix = \"/blog\"\nservers = [\"127.0.0.1:4000\"]\n");
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  ASSERT_EQ(r.config->upstreams.size(), 1u);
}

TEST(UpstreamsKeys, Errors) {
  struct Case {
    std::string text;
    std::string error;
  };
  const std::string top = "app = \"a:app\"\n[[upstreams]]\n";
  std::vector<Case> cases = {
      {top + "servers = [\"127.0.0.1:1\"]\nprefix = \"/x\"\n", "t.toml:2:1: upstreams[0]: `name` is required"},
      {top + "name = \"Bad Name\"\nservers = [\"127.0.0.1:1\"]\n", "t.toml:3:8: upstreams[0].name: 'Bad Name' is not a valid name"},
      {top + "name = \"app\"\nprefix = \"/x\"\nservers = [\"127.0.0.1:1\"]\n", "'app' is already the name of the app"},
      {top + "name = \"x\"\nprefix = \"/x\"\n", "t.toml:2:1: [[upstreams]] x: one of `servers` (addresses to proxy to) or `command`"},
      {top + "name = \"x\"\nprefix = \"/x\"\nservers = [\"127.0.0.1:1\"]\ncommand = \"a\"\n", "`servers` and `command` cannot both be set"},
      {top + "name = \"x\"\nprefix = \"/x\"\nservers = [\"localhost\"]\n", "t.toml:5:12: upstreams[0].servers: expected \"HOST:PORT\""},
      {top + "name = \"x\"\nprefix = \"/x\"\nservers = []\n", "upstreams[0].servers: expected at least one address"},
      {top + "name = \"x\"\nprefix = \"/x\"\nservers = [\"127.0.0.1:1\"]\nchdir = \"/\"\n", "t.toml:6:9: upstreams[0].chdir: only for a `command` upstream"},
      {top + "name = \"x\"\nprefix = \"/x\"\ncommand = \"a\"\nstrip_prefx = true\n", "t.toml:6:1: unknown key 'strip_prefx' in an [[upstreams]] block (did you mean 'strip_prefix'?)"},
      {top + "name = \"x\"\nprefix = \"/x\"\ncommand = \"a\"\ntimeout = \"soon\"\n", "upstreams[0].timeout: expected a duration"},
      {top + "name = \"x\"\nprefix = \"/x\"\ncommand = \"a\"\n[upstreams.health]\npath = \"healthz\"\n", "upstreams[0].health.path: expected a path starting with /"},
      {top + "name = \"x\"\nprefix = \"/x\"\ncommand = \"a\"\n[upstreams.health]\npaht = \"/h\"\n", "unknown key 'health.paht' in an [[upstreams]] block (did you mean 'health.path'?)"},
      // The single app is the default route: an upstream without hosts or prefix collides with it.
      {top + "name = \"x\"\ncommand = \"a\"\n", "upstreams: "},
      {"app = \"a:app\"\n[[upstreams]]\nname = \"x\"\ncommand = \"a\"\nprefix = \"/x\"\n[[upstreams]]\nname = \"x\"\ncommand = \"b\"\nprefix = \"/y\"\n",
       "'x' is already the name of upstreams[0]"},
  };
  for (const auto& c : cases) {
    LoadResult r = load(c.text);
    EXPECT_THAT(all_errors(r), HasSubstr(c.error)) << c.text;
  }
}

TEST(UpstreamsKeys, RoutesAreCheckedWithTheApps) {
  LoadResult r = load(
      "[[apps]]\nname = \"site\"\napp = \"site:app\"\nprefix = \"/blog\"\n"
      "[[upstreams]]\nname = \"blog\"\nprefix = \"/blog/\"\nservers = [\"127.0.0.1:4000\"]\n");
  EXPECT_THAT(all_errors(r), HasSubstr("upstreams: "));
  EXPECT_THAT(all_errors(r), HasSubstr("blog"));
}

TEST(UpstreamsKeys, OnlyUpstreamsNeedNoApp) {
  LoadResult r = load("[[upstreams]]\nname = \"app\"\ncommand = \"node server.js\"\n");
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  EXPECT_TRUE(r.config->app.empty());
  EXPECT_TRUE(apps_of(r.config).empty());  // no zygote: the daemon runs no Python app
  // Without upstreams an app is still required.
  EXPECT_THAT(all_errors(load("workers = 2\n")), HasSubstr("no application given"));
}

TEST(UpstreamsKeys, TheExampleConfigHasTwo) {
  LoadResult r = load_file_only(std::string(HEARTH_SOURCE_DIR) + "/conf/several-apps.toml", 2);
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  ASSERT_EQ(r.config->upstreams.size(), 2u);
  EXPECT_EQ(r.config->upstreams[0].command, "node server.js");
  EXPECT_EQ(r.config->upstreams[0].health_path, "/healthz");
  EXPECT_EQ(r.config->upstreams[1].servers.size(), 2u);
}

}  // namespace
}  // namespace hearth::config
