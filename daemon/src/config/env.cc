#include "config/env.h"

#include "config/bind.h"
#include "config/units.h"

namespace hearth::config {

std::optional<std::string> env_value(const Environment& env, const std::string& name) {
  auto it = env.find(name);
  if (it == env.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

void apply_environment(const Environment& env, const CommandLine& cl, Config& cfg, Provenance& prov,
                       std::vector<std::string>& errors) {
  if (auto port = env_value(env, "PORT"); port && !cl.sets_bind) {
    auto b = parse_uint(*port, 65535) ? parse_bind("0.0.0.0:" + *port) : std::nullopt;
    if (b) {
      cfg.binds = {*b};
      prov.set("bind", "$PORT");
    } else {
      errors.push_back("$PORT: expected a port number, got '" + *port + "'");
    }
  }
  if (auto wc = env_value(env, "WEB_CONCURRENCY"); wc && !cl.sets_workers) {
    auto n = parse_uint(*wc, UINT32_MAX);
    if (n) {
      cfg.workers = static_cast<uint32_t>(*n);
      prov.set("workers", "$WEB_CONCURRENCY");
    } else {
      errors.push_back("$WEB_CONCURRENCY: expected a non-negative integer, got '" + *wc + "'");
    }
  }
  if (auto v = env_value(env, "HEARTH_ALLOW_ROOT")) {
    bool on = *v == "1" || *v == "true" || *v == "yes";
    if (on || *v == "0" || *v == "false" || *v == "no") {
      cfg.allow_root = on;
      prov.set("allow_root", "$HEARTH_ALLOW_ROOT");
    } else {
      errors.push_back("$HEARTH_ALLOW_ROOT: expected 1 or 0, got '" + *v + "'");
    }
  }
  if (auto tok = env_value(env, "HEARTH_METRICS_TOKEN"); tok) {
    cfg.metrics_token = *tok;
    prov.set("metrics_token", "$HEARTH_METRICS_TOKEN");
  }
  if (auto dir = env_value(env, "HEARTH_RUNTIME_DIR")) {
    cfg.runtime_dir = *dir;
    prov.set("runtime_dir", "$HEARTH_RUNTIME_DIR");
  }
}

}  // namespace hearth::config
