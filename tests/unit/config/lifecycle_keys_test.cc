// The lifecycle, [health], [warmup], [keepwarm] and [hooks] keys: parsing and
// their cross-field rules.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/loader.h"
#include "config/summary.h"
#include "load_text.h"
#include "temp_file.h"

namespace hearth::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using std::chrono::seconds;
using testing::TempDir;
using testing::load_text;

TEST(LifecycleKeys, AllParse) {
  LoadResult r = load_text(R"(max_requests = 1000
max_requests_jitter = 50
max_worker_memory = "512MiB"
memory_budget = "4GiB"
min_workers = 2
max_workers = 8
idle_timeout = "2m"
memory_interval = 1
ready_min = 2

[health]
path = "/healthz"
interval = "3s"
timeout = "1s"
unhealthy_threshold = 2
healthy_threshold = 2
max_consecutive_failures = 10

[[warmup.requests]]
path = "/"

[[warmup.requests]]
method = "POST"
path = "/warm"
headers = { "X-Warm" = "1", Host = "example.com" }
body = "{}"

[[warmup.requests]]
path = "/ordered"
headers = [["B", "2"], ["A", "1"]]

[keepwarm]
internal_interval = "5m"
url = "https://example.com/ping"
interval = "15m"
jitter = "30s"
timeout = "3s"

[hooks]
pre_fork = "site.hooks:pre_fork"
post_fork = "site.hooks:post_fork"
worker_exit = "site.hooks:worker_exit"
)");
  ASSERT_TRUE(r.config) << ::testing::PrintToString(r.errors);
  const Config& c = *r.config;
  EXPECT_EQ(c.max_requests, 1000u);
  EXPECT_EQ(c.max_requests_jitter, 50u);
  EXPECT_EQ(c.max_worker_memory, 512ull << 20);
  EXPECT_EQ(c.memory_budget, 4ull << 30);
  EXPECT_EQ(c.min_workers, 2u);
  EXPECT_EQ(c.max_workers, 8u);
  EXPECT_EQ(c.idle_timeout, seconds(120));
  EXPECT_EQ(c.memory_interval, seconds(1));
  EXPECT_EQ(c.ready_min, 2u);
  EXPECT_EQ(c.health.path, "/healthz");
  EXPECT_EQ(c.health.interval, seconds(3));
  EXPECT_EQ(c.health.timeout, seconds(1));
  EXPECT_EQ(c.health.unhealthy_threshold, 2u);
  EXPECT_EQ(c.health.healthy_threshold, 2u);
  EXPECT_EQ(c.health.max_consecutive_failures, 10u);
  ASSERT_EQ(c.warmup.requests.size(), 3u);
  EXPECT_EQ(c.warmup.requests[0].method, "GET");
  EXPECT_EQ(c.warmup.requests[0].path, "/");
  EXPECT_EQ(c.warmup.requests[1].method, "POST");
  EXPECT_EQ(c.warmup.requests[1].body, "{}");
  EXPECT_THAT(c.warmup.requests[1].headers, ElementsAre(Pair("Host", "example.com"), Pair("X-Warm", "1")));
  EXPECT_THAT(c.warmup.requests[2].headers, ElementsAre(Pair("B", "2"), Pair("A", "1")));
  EXPECT_EQ(c.keepwarm.internal_interval, seconds(300));
  EXPECT_EQ(c.keepwarm.url, "https://example.com/ping");
  EXPECT_EQ(c.keepwarm.interval, seconds(900));
  EXPECT_EQ(c.keepwarm.jitter, seconds(30));
  EXPECT_EQ(c.keepwarm.timeout, seconds(3));
  EXPECT_EQ(c.hooks.pre_fork, "site.hooks:pre_fork");
  EXPECT_EQ(c.hooks.post_fork, "site.hooks:post_fork");
  EXPECT_EQ(c.hooks.worker_exit, "site.hooks:worker_exit");

  // And the summary carries all of it through a second load.
  TempDir dir;
  LoadResult again = load_file_only(dir.write("again.toml", to_toml(c)), 2);
  ASSERT_TRUE(again.config) << ::testing::PrintToString(again.errors);
  Config b = *again.config;
  b.config_file = c.config_file;
  EXPECT_EQ(to_toml(b), to_toml(c));
}

TEST(LifecycleKeys, TypeAndKeyErrors) {
  LoadResult r = load_text(R"(max_requests = -1
[health]
intervall = "3s"
[[warmup.requests]]
metod = "GET"
headers = { A = 1 }
[[warmup.requests]]
headers = [["A"]]
[keepwarm]
url = 5
)");
  EXPECT_THAT(r.errors, ElementsAre(HasSubstr("t.toml:2:16: max_requests: expected a non-negative integer, got -1"),
                                    HasSubstr("t.toml:4:1: unknown key 'health.intervall' (did you mean 'health.interval'?)"),
                                    HasSubstr("t.toml:6:1: unknown key 'warmup.requests[0].metod' (did you mean 'method'?)"),
                                    HasSubstr("t.toml:7:17: warmup.requests[0].headers.A: expected a string, got 1"),
                                    HasSubstr("t.toml:9:12: warmup.requests[1].headers: expected a [\"Name\", \"value\"] pair"),
                                    HasSubstr("t.toml:11:7: keepwarm.url: expected a string, got 5")));
}

TEST(LifecycleKeys, CrossFieldRules) {
  EXPECT_THAT(load_text("min_workers = 5\nmax_workers = 3\n").errors,
              ElementsAre(HasSubstr("t.toml:2:15: min_workers: min_workers (5) is above max_workers (3)")));
  EXPECT_THAT(load_text("workers = 4\nmax_workers = 3\n").errors,
              ElementsAre(HasSubstr("max_workers: min_workers (4) is above max_workers (3)")));
  EXPECT_TRUE(load_text("workers = 4\nmin_workers = 1\nmax_workers = 8\n").errors.empty());
  EXPECT_THAT(load_text("[health]\npath = \"healthz\"\nunhealthy_threshold = 0\n").errors,
              ElementsAre(HasSubstr("health.path: must start with '/', got 'healthz'"),
                          HasSubstr("health.unhealthy_threshold: must be at least 1")));
  EXPECT_TRUE(load_text("[health]\nunhealthy_threshold = 0\n").errors.empty()) << "only checked when checks are on";
  EXPECT_THAT(load_text("[health]\ninterval = 0\n").errors, ElementsAre(HasSubstr("health.interval: must be greater than 0")));
  EXPECT_THAT(load_text("[[warmup.requests]]\nmethod = \"G ET\"\npath = \"x\"\nheaders = { \"Bad Name\" = \"v\" }\n").errors,
              ElementsAre(HasSubstr("warmup.requests[0].method: not an HTTP method: 'G ET'"),
                          HasSubstr("warmup.requests[0].path: must start with '/', got 'x'"),
                          HasSubstr("warmup.requests[0].headers: not a header name: 'Bad Name'")));
  EXPECT_THAT(load_text("[keepwarm]\nurl = \"example.com\"\n").errors,
              ElementsAre(HasSubstr("keepwarm.url: expected an http:// or https:// URL, got 'example.com'")));
  EXPECT_THAT(load_text("[keepwarm]\nurl = \"http://x/\"\ninterval = \"1m\"\njitter = \"2m\"\n").errors,
              ElementsAre(HasSubstr("keepwarm.jitter: must not exceed keepwarm.interval")));
  EXPECT_THAT(load_text("[hooks]\npost_fork = \"hooks.post_fork\"\npre_fork = \"h:f()\"\n").errors,
              ElementsAre(HasSubstr("hooks.pre_fork: expected MODULE:FUNCTION"),
                          HasSubstr("hooks.post_fork: expected MODULE:FUNCTION such as myproject.hooks:post_fork, got 'hooks.post_fork'")));
  EXPECT_THAT(load_text("idle_timeout = 0\n").errors, ElementsAre(HasSubstr("idle_timeout: must be greater than 0")));
}

}  // namespace
}  // namespace hearth::config
