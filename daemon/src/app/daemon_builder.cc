#include "app/daemon_builder.h"

#include <unistd.h>

#include <map>
#include <sstream>

#include "build_info.h"
#include "common/log.h"

namespace hearth::app {

std::string resolve_program(const std::string& prog, const char* path_env) {
  if (prog.find('/') != std::string::npos) return prog;
  std::stringstream ss(path_env ? path_env : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    std::string cand = (dir.empty() ? "." : dir) + "/" + prog;
    if (::access(cand.c_str(), X_OK) == 0) return cand;
  }
  return prog;
}

std::vector<std::string> app_environment(const config::Config& c, const char* const* environ) {
  std::map<std::string, std::string> vars;
  for (const char* const* e = environ; e && *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string::npos) continue;
    vars[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  // The service manager talks to hearthd, not to the app.
  for (const char* k : {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"}) vars.erase(k);
  for (auto& [k, v] : c.env) vars[k] = v;
  vars["HEARTH_PRELOAD"] = c.preload ? "1" : "0";
  vars["HEARTH_WORKER_ID"] = "zygote";
  if (!c.proc_name.empty()) vars["HEARTH_PROC_NAME"] = c.proc_name;  // the runtime names its processes
  vars["SERVER_SOFTWARE"] = std::string("hearth/") + build::kVersion;
  vars.emplace("PYTHONUNBUFFERED", "1");
  std::vector<std::string> out;
  for (auto& [k, v] : vars) out.push_back(k + "=" + v);
  return out;
}

supervisor::Pool::Options pool_options(const config::Config& c, std::string python, std::vector<std::string> env,
                                       int death_pipe_read_fd) {
  supervisor::Pool::Options po;
  po.zygote.python = std::move(python);
  po.zygote.runtime_dir = c.runtime_dir;
  po.zygote.app = c.app;
  po.zygote.preload = c.preload;
  po.zygote.chdir = c.chdir;
  po.zygote.pythonpath = c.pythonpath;
  po.zygote.env = std::move(env);
  po.zygote.threads = c.threads;
  po.zygote.interface = c.interface;
  po.zygote.lifespan = c.lifespan;
  po.zygote.concurrency = c.concurrency;
  po.zygote.generation = 1;
  po.zygote.death_pipe_read_fd = death_pipe_read_fd;
  po.zygote.capture_output = c.log.capture_output;
  po.zygote.hook_pre_fork = c.hooks.pre_fork;
  po.zygote.hook_post_fork = c.hooks.post_fork;
  po.zygote.hook_worker_exit = c.hooks.worker_exit;
  po.workers = c.workers;
  po.request_timeout = c.timeout;
  po.boot_timeout = c.boot_timeout;
  po.graceful_timeout = c.graceful_timeout;
  po.max_requests = c.max_requests;
  po.max_requests_jitter = c.max_requests_jitter;
  po.max_worker_memory = c.max_worker_memory;
  po.memory_budget = c.memory_budget;
  po.min_workers = c.min_workers;
  po.max_workers = c.max_workers;
  po.idle_timeout = c.idle_timeout;
  po.memory_interval = c.memory_interval;
  po.max_consecutive_failures = c.health.max_consecutive_failures;
  po.dispatch_ahead = c.dispatch_ahead;
  return po;
}

proxy::EnvironOptions environ_options(const config::Config& c) {
  proxy::EnvironOptions eo;
  eo.forwarded_allow_ips = c.forwarded_allow_ips;
  eo.server_software = std::string("hearth/") + build::kVersion;
  return eo;
}

config::WarmupRequest keepwarm_request(const config::Config& c) {
  config::WarmupRequest kw;
  if (!c.warmup.requests.empty()) kw = c.warmup.requests.front();
  else if (!c.health.path.empty()) kw.path = c.health.path;
  return kw;
}

std::string build_handler_chain(const config::Config& c, http::RequestHandler& app, proxy::RequestObserver* observer,
                                const ClockSource& clock, HandlerChain* out) {
  http::RequestHandler* front = &app;
  if (c.compression.enabled) {
    out->compression = std::make_unique<frontdoor::CompressionHandler>(c.compression, *front);
    front = out->compression.get();
  }
  if (!c.statics.empty()) {
    std::vector<statics::StaticHandler::Mount> mounts;
    if (std::string err = statics::StaticHandler::prepare(c, &mounts); !err.empty()) return err;
    for (const auto& m : mounts) HLOG(Info, "static: " << m.config.prefix << " -> " << m.root);
    out->statics = std::make_unique<statics::StaticHandler>(std::move(mounts), *front, observer, clock);
    front = out->statics.get();
  }
  if (!c.rate_limits.empty()) {
    out->rate_limit = std::make_unique<frontdoor::RateLimitHandler>(c, *front, observer, clock);
    front = out->rate_limit.get();
  }
  if (c.tls.enabled() && c.tls.hsts_max_age.count() > 0) {
    out->hsts = std::make_unique<tls::HstsHandler>(*front, c.tls.hsts_max_age);
    front = out->hsts.get();
  }
  out->front = front;
  return "";
}

}  // namespace hearth::app
