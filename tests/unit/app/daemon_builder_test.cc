// The daemon's wiring (app/daemon_builder.h): every config field reaches the
// option it is meant for, without starting anything.
#include "app/daemon_builder.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "config/defaults.h"

namespace hearth::app {
namespace {

bool has(const std::vector<std::string>& env, const std::string& kv) {
  return std::find(env.begin(), env.end(), kv) != env.end();
}

TEST(DaemonBuilder, PoolOptionsCarryEveryPoolSetting) {
  config::Config c = config::default_config();
  c.runtime_dir = "/rt";
  c.app = "app:wsgi";
  c.preload = false;
  c.chdir = "/srv";
  c.pythonpath = {"/a", "/b"};
  c.threads = 3;
  c.log.capture_output = true;
  c.hooks = {"m:pre", "m:post", "m:exit"};
  c.workers = 5;
  c.timeout = config::Millis(1001);
  c.boot_timeout = config::Millis(1002);
  c.graceful_timeout = config::Millis(1003);
  c.max_requests = 11;
  c.max_requests_jitter = 12;
  c.max_worker_memory = 13;
  c.memory_budget = 14;
  c.min_workers = 2;
  c.max_workers = 9;
  c.idle_timeout = config::Millis(1004);
  c.memory_interval = config::Millis(1005);
  c.health.max_consecutive_failures = 6;
  auto po = pool_options(c, "/usr/bin/python3", {"A=1"}, 17);
  EXPECT_EQ(po.zygote.python, "/usr/bin/python3");
  EXPECT_EQ(po.zygote.runtime_dir, "/rt");
  EXPECT_EQ(po.zygote.app, "app:wsgi");
  EXPECT_FALSE(po.zygote.preload);
  EXPECT_EQ(po.zygote.chdir, "/srv");
  EXPECT_EQ(po.zygote.pythonpath, c.pythonpath);
  EXPECT_EQ(po.zygote.env, std::vector<std::string>{"A=1"});
  EXPECT_EQ(po.zygote.threads, 3u);
  EXPECT_EQ(po.zygote.generation, 1u);
  EXPECT_EQ(po.zygote.death_pipe_read_fd, 17);
  EXPECT_TRUE(po.zygote.capture_output);
  EXPECT_EQ(po.zygote.hook_pre_fork, "m:pre");
  EXPECT_EQ(po.zygote.hook_post_fork, "m:post");
  EXPECT_EQ(po.zygote.hook_worker_exit, "m:exit");
  EXPECT_EQ(po.workers, 5u);
  EXPECT_EQ(po.request_timeout.count(), 1001);
  EXPECT_EQ(po.boot_timeout.count(), 1002);
  EXPECT_EQ(po.graceful_timeout.count(), 1003);
  EXPECT_EQ(po.max_requests, 11u);
  EXPECT_EQ(po.max_requests_jitter, 12u);
  EXPECT_EQ(po.max_worker_memory, 13u);
  EXPECT_EQ(po.memory_budget, 14u);
  EXPECT_EQ(po.min_workers, 2u);
  EXPECT_EQ(po.max_workers, 9u);
  EXPECT_EQ(po.idle_timeout.count(), 1004);
  EXPECT_EQ(po.memory_interval.count(), 1005);
  EXPECT_EQ(po.max_consecutive_failures, 6u);
}

TEST(DaemonBuilder, AppEnvironment) {
  config::Config c = config::default_config();
  c.env = {{"DJANGO_SETTINGS_MODULE", "site.settings"}, {"HOME", "/override"}};
  c.proc_name = "shop";
  const char* environ[] = {"HOME=/root", "NOTIFY_SOCKET=/run/x", "WATCHDOG_USEC=1", "PATH=/bin",
                           "PYTHONUNBUFFERED=0", "junk", nullptr};
  auto env = app_environment(c, environ);
  EXPECT_TRUE(std::is_sorted(env.begin(), env.end()));
  EXPECT_TRUE(has(env, "HOME=/override"));  // the config wins over the daemon's own
  EXPECT_TRUE(has(env, "DJANGO_SETTINGS_MODULE=site.settings"));
  EXPECT_TRUE(has(env, "PATH=/bin"));
  EXPECT_TRUE(has(env, "PYTHONUNBUFFERED=0"));  // only a default
  EXPECT_TRUE(has(env, "HEARTH_PRELOAD=1"));
  EXPECT_TRUE(has(env, "HEARTH_WORKER_ID=zygote"));
  EXPECT_TRUE(has(env, "HEARTH_PROC_NAME=shop"));
  for (const auto& kv : env) {
    EXPECT_NE(kv.rfind("NOTIFY_SOCKET=", 0), 0u) << "the service manager's variables are not the app's";
    EXPECT_NE(kv.rfind("WATCHDOG_USEC=", 0), 0u);
    EXPECT_NE(kv, "junk");
  }
  EXPECT_EQ(std::count_if(env.begin(), env.end(), [](auto& kv) { return kv.rfind("SERVER_SOFTWARE=hearth/", 0) == 0; }),
            1);
}

TEST(DaemonBuilder, ResolveProgram) {
  EXPECT_EQ(resolve_program("/opt/venv/bin/python", "/bin"), "/opt/venv/bin/python");
  EXPECT_EQ(resolve_program("sh", "/nonexistent:/bin"), "/bin/sh");
  EXPECT_EQ(resolve_program("no-such-program-here", "/bin"), "no-such-program-here");
}

TEST(DaemonBuilder, KeepwarmRequest) {
  config::Config c = config::default_config();
  EXPECT_EQ(keepwarm_request(c).path, "/");
  c.health.path = "/health";
  EXPECT_EQ(keepwarm_request(c).path, "/health");
  config::WarmupRequest w;
  w.method = "POST";
  w.path = "/warm";
  c.warmup.requests.push_back(w);
  EXPECT_EQ(keepwarm_request(c).method, "POST");
  EXPECT_EQ(keepwarm_request(c).path, "/warm");
}

TEST(DaemonBuilder, EnvironOptions) {
  config::Config c = config::default_config();
  c.forwarded_allow_ips = {"10.0.0.0/8"};
  auto eo = environ_options(c);
  EXPECT_EQ(eo.forwarded_allow_ips, c.forwarded_allow_ips);
  EXPECT_EQ(eo.server_software.rfind("hearth/", 0), 0u);
}

TEST(DaemonBuilder, HandlerChainHasOnlyWhatIsConfigured) {
  struct App final : http::RequestHandler {
    void handle(std::shared_ptr<http::Request>, std::shared_ptr<http::ResponseSink>) override {}
  } app;
  SteadyClock clock;
  config::Config c = config::default_config();
  HandlerChain bare;
  ASSERT_EQ(build_handler_chain(c, app, nullptr, clock, &bare), "");
  EXPECT_EQ(bare.front, &app);
  EXPECT_FALSE(bare.compression || bare.statics || bare.rate_limit || bare.hsts);

  c.compression.enabled = true;
  c.tls.hsts_max_age = config::Millis(1000);  // no TLS: no HSTS
  HandlerChain compressed;
  ASSERT_EQ(build_handler_chain(c, app, nullptr, clock, &compressed), "");
  ASSERT_TRUE(compressed.compression);
  EXPECT_EQ(compressed.front, compressed.compression.get());
  EXPECT_FALSE(compressed.hsts);

  config::StaticMount missing;
  missing.prefix = "/static/";
  missing.dir = "/no/such/dir/for/hearth";
  c.statics.push_back(missing);
  HandlerChain broken;
  EXPECT_NE(build_handler_chain(c, app, nullptr, clock, &broken), "");
}

}  // namespace
}  // namespace hearth::app
