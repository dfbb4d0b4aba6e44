// What a configuration reload does to the apps (app/app_changes.h).
#include "app/app_changes.h"

#include <gtest/gtest.h>

#include <memory>

namespace hearth::app {
namespace {

using Kind = AppChange::Kind;

config::AppConfig app(const std::string& name, const std::string& module, const std::string& prefix = "",
                      std::vector<std::string> hosts = {}, uint32_t workers = 2) {
  auto c = std::make_shared<config::Config>();
  c->app = module;
  c->workers = workers;
  return config::AppConfig{name, std::move(hosts), prefix, c};
}

std::vector<std::pair<Kind, std::string>> kinds(const std::vector<AppChange>& v) {
  std::vector<std::pair<Kind, std::string>> out;
  for (const auto& c : v) out.emplace_back(c.kind, c.name);
  return out;
}

TEST(PlanAppChanges, MatchesAppsByNameInTheNewFilesOrderThenTheRemovedOnes) {
  std::vector<config::AppConfig> now{app("api", "api:app"), app("blog", "blog:app", "/blog"), app("old", "old:app")};
  std::vector<config::AppConfig> next{app("new", "new:app", "", {"new.test"}), app("blog", "blog:app", "/blog"),
                                      app("api", "api:app", "", {"api.test"})};
  auto plan = plan_app_changes(now, next, nullptr);
  std::vector<std::pair<Kind, std::string>> want{
      {Kind::Added, "new"}, {Kind::Kept, "blog"}, {Kind::Kept, "api"}, {Kind::Removed, "old"}};
  EXPECT_EQ(kinds(plan), want);  // api's new hosts alone only re-route it
}

TEST(PlanAppChanges, ASettingOrThePrefixChangedReplacesTheApp) {
  std::vector<config::AppConfig> now{app("a", "a:app"), app("b", "b:app", "/b"), app("c", "c:app")};
  std::vector<config::AppConfig> next{app("a", "a:app", "", {}, 4), app("b", "b:app", "/bee"), app("c", "c2:app")};
  auto plan = plan_app_changes(now, next, nullptr);
  std::vector<std::pair<Kind, std::string>> want{{Kind::Replaced, "a"}, {Kind::Replaced, "b"}, {Kind::Replaced, "c"}};
  EXPECT_EQ(kinds(plan), want);
}

TEST(PlanAppChanges, AnAppThatFailedToStartIsReplacedEvenWhenUnchanged) {
  std::vector<config::AppConfig> now{app("a", "a:app"), app("b", "b:app")};
  auto plan = plan_app_changes(now, now, [](const std::string& n) { return n == "b"; });
  std::vector<std::pair<Kind, std::string>> want{{Kind::Kept, "a"}, {Kind::Replaced, "b"}};
  EXPECT_EQ(kinds(plan), want);
}

TEST(PlanAppChanges, TheFingerprintIgnoresTheAppsListAndTheFileName) {
  config::Config a;
  a.app = "x:app";
  config::Config b = a;
  b.config_file = "/etc/other.toml";
  b.apps.push_back(app("z", "z:app"));
  b.upstreams.push_back(config::UpstreamConfig{});  // planned on their own: an app is not replaced for them
  b.upstreams.back().name = "node";
  EXPECT_EQ(settings_fingerprint(a), settings_fingerprint(b));
  b.timeout = std::chrono::milliseconds(12345);
  EXPECT_NE(settings_fingerprint(a), settings_fingerprint(b));
}

config::UpstreamConfig upstream(const std::string& name, std::vector<std::string> servers, std::string command = "") {
  config::UpstreamConfig u;
  u.name = name;
  u.servers = std::move(servers);
  u.command = std::move(command);
  return u;
}

TEST(PlanUpstreamChanges, AddedKeptReplacedAndRemovedByName) {
  std::vector<config::UpstreamConfig> now{upstream("go", {"127.0.0.1:3000"}), upstream("node", {}, "node a.js"),
                                          upstream("gone", {"127.0.0.1:4000"})};
  std::vector<config::UpstreamConfig> next{upstream("new", {"unix:/run/n.sock"}), upstream("node", {}, "node a.js"),
                                           upstream("go", {"127.0.0.1:3000", "127.0.0.1:3001"})};
  std::vector<std::pair<Kind, std::string>> want{
      {Kind::Added, "new"}, {Kind::Kept, "node"}, {Kind::Replaced, "go"}, {Kind::Removed, "gone"}};
  EXPECT_EQ(kinds(plan_upstream_changes(now, next)), want);
}

TEST(PlanUpstreamChanges, AnyKeyChangedReplacesTheUpstream) {
  auto base = upstream("node", {}, "node a.js");
  auto check = [&](auto edit) {
    auto changed = base;
    edit(changed);
    auto plan = plan_upstream_changes({base}, {changed});
    return plan.size() == 1 && plan[0].kind == Kind::Replaced;
  };
  EXPECT_TRUE(check([](auto& u) { u.command = "node b.js"; }));
  EXPECT_TRUE(check([](auto& u) { u.hosts = {"x.test"}; }));
  EXPECT_TRUE(check([](auto& u) { u.env["A"] = "1"; }));
  EXPECT_TRUE(check([](auto& u) { u.timeout = std::chrono::milliseconds(5); }));
  EXPECT_TRUE(check([](auto& u) { u.health_path = "/up"; }));
  EXPECT_FALSE(check([](auto&) {}));
}

}  // namespace
}  // namespace hearth::app
