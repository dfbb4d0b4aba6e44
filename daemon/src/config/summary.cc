#include "config/summary.h"

#include <cstdio>

#include "config/bind.h"
#include "config/units.h"

namespace hearth::config {
namespace {

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + quote(items[i]);
  return out + "]";
}

}  // namespace

std::string to_toml(const Config& c) {
  std::vector<std::string> binds;
  for (const auto& b : c.binds) binds.push_back(to_string(b));
  std::string o;
  auto line = [&o](const std::string& k, const std::string& v) { o += k + " = " + v + "\n"; };
  auto dur = [](Millis d) { return quote(format_duration(d)); };
  auto size = [](uint64_t n) { return quote(format_size(n)); };
  o += "# config file: " + (c.config_file.empty() ? std::string("(none)") : c.config_file) + "\n";
  o += "# runtime dir: " + (c.runtime_dir.empty() ? std::string("(none)") : c.runtime_dir) + "\n";
  line("app", quote(c.app));
  line("python", quote(c.python));
  line("chdir", quote(c.chdir));
  line("pythonpath", array(c.pythonpath));
  line("preload", c.preload ? "true" : "false");
  line("bind", array(binds));
  if (c.admin_bind) line("admin_bind", quote(to_string(*c.admin_bind)));
  line("control_socket", quote(c.control_socket));
  line("metrics_token", quote(c.metrics_token.empty() ? "" : "(set)"));
  line("user", quote(c.user));
  line("group", quote(c.group));
  line("allow_root", c.allow_root ? "true" : "false");
  line("workers", std::to_string(c.workers));
  line("threads", std::to_string(c.threads));
  line("max_queue", std::to_string(c.max_queue));
  line("queue_timeout", dur(c.queue_timeout));
  line("timeout", dur(c.timeout));
  line("graceful_timeout", dur(c.graceful_timeout));
  line("boot_timeout", dur(c.boot_timeout));
  line("forwarded_allow_ips", array(c.forwarded_allow_ips));
  line("proxy_protocol", c.proxy_protocol ? "true" : "false");
  line("proxy_allow_ips", array(c.proxy_allow_ips));
  line("temp_dir", quote(c.temp_dir));
  line("pid_file", quote(c.pid_file));
  line("proc_name", quote(c.proc_name));
  char mask[8] = "";
  if (c.umask >= 0) std::snprintf(mask, sizeof mask, "%04o", static_cast<unsigned>(c.umask));
  line("umask", quote(mask));
  line("retry_methods", array(c.retry_methods));
  line("max_requests", std::to_string(c.max_requests));
  line("max_requests_jitter", std::to_string(c.max_requests_jitter));
  line("max_worker_memory", size(c.max_worker_memory));
  line("memory_budget", size(c.memory_budget));
  line("min_workers", std::to_string(c.min_workers));
  line("max_workers", std::to_string(c.max_workers));
  line("idle_timeout", dur(c.idle_timeout));
  line("memory_interval", dur(c.memory_interval));
  line("ready_min", std::to_string(c.ready_min));
  line("certfile", quote(c.tls.certfile));
  line("keyfile", quote(c.tls.keyfile));
  o += "\n[env]\n";
  for (const auto& [k, v] : c.env) line(quote(k), quote(v));
  o += "\n[http]\n";
  line("keepalive_timeout", dur(c.http.keepalive_timeout));
  line("header_timeout", dur(c.http.header_timeout));
  line("body_timeout", dur(c.http.body_timeout));
  line("send_timeout", dur(c.http.send_timeout));
  line("max_header_size", size(c.http.max_header_size));
  line("max_headers", std::to_string(c.http.max_headers));
  line("backlog", std::to_string(c.http.backlog));
  line("max_request_line", size(c.http.max_request_line));
  line("max_header_field_size", size(c.http.max_header_field_size));
  line("max_body_size", size(c.http.max_body_size));
  line("body_buffer_size", size(c.http.body_buffer_size));
  line("response_buffer_size", size(c.http.response_buffer_size));
  line("max_buffered_memory", size(c.http.max_buffered_memory));
  line("max_response_spool", size(c.http.max_response_spool));
  line("max_total_response_spool", size(c.http.max_total_response_spool));
  line("server_header", quote(c.http.server_header));
  line("http2", c.http.h2_enabled ? "true" : "false");
  line("http2_max_concurrent_streams", std::to_string(c.http.h2_max_concurrent_streams));
  line("http2_initial_window_size", std::to_string(c.http.h2_initial_window_size));
  line("via", c.http.via ? "true" : "false");
  line("max_connections_per_ip", std::to_string(c.http.max_connections_per_ip));
  o += "\n[compression]\n";
  line("enabled", c.compression.enabled ? "true" : "false");
  line("algorithms", array(c.compression.algorithms));
  line("min_size", size(c.compression.min_size));
  line("types", array(c.compression.types));
  line("level", std::to_string(c.compression.level));
  o += "\n[log]\n";
  line("level", quote(c.log.level));
  line("access_log", quote(c.log.access_log));
  line("access_log_format", quote(c.log.access_log_format));
  line("error_log", quote(c.log.error_log));
  line("capture_output", c.log.capture_output ? "true" : "false");
  o += "\n[health]\n";
  line("path", quote(c.health.path));
  line("interval", dur(c.health.interval));
  line("timeout", dur(c.health.timeout));
  line("unhealthy_threshold", std::to_string(c.health.unhealthy_threshold));
  line("healthy_threshold", std::to_string(c.health.healthy_threshold));
  line("max_consecutive_failures", std::to_string(c.health.max_consecutive_failures));
  o += "\n[keepwarm]\n";
  line("internal_interval", dur(c.keepwarm.internal_interval));
  line("url", quote(c.keepwarm.url));
  line("interval", dur(c.keepwarm.interval));
  line("jitter", dur(c.keepwarm.jitter));
  line("timeout", dur(c.keepwarm.timeout));
  o += "\n[tls]\n";
  line("min_version", quote(c.tls.min_version));
  line("ciphers", quote(c.tls.ciphers));
  line("hsts_max_age", dur(c.tls.hsts_max_age));
  std::vector<std::string> redirects;
  for (const auto& b : c.tls.redirect_http_from) redirects.push_back(to_string(b));
  line("redirect_http_from", array(redirects));
  o += "\n[hooks]\n";
  line("pre_fork", quote(c.hooks.pre_fork));
  line("post_fork", quote(c.hooks.post_fork));
  line("worker_exit", quote(c.hooks.worker_exit));
  for (const auto& r : c.warmup.requests) {
    o += "\n[[warmup.requests]]\n";
    line("method", quote(r.method));
    line("path", quote(r.path));
    std::string headers = "[";
    for (size_t i = 0; i < r.headers.size(); ++i) {
      headers += (i ? ", " : "") + array({r.headers[i].first, r.headers[i].second});
    }
    line("headers", headers + "]");
    line("body", quote(r.body));
  }
  for (const auto& p : c.error_pages) {
    o += "\n[[error_page]]\n";
    std::string statuses = "[";
    for (size_t i = 0; i < p.status.size(); ++i) statuses += (i ? ", " : "") + std::to_string(p.status[i]);
    line("status", statuses + "]");
    line("file", quote(p.file));
  }
  for (const auto& r : c.rate_limits) {
    o += "\n[[rate_limit]]\n";
    line("prefix", quote(r.prefix));
    line("rate", quote(r.rate));
    line("burst", std::to_string(r.burst));
    line("key", quote(r.key));
    line("methods", array(r.methods));
  }
  for (const auto& m : c.statics) {
    o += "\n[[static]]\n";
    line("prefix", quote(m.prefix));
    line("dir", quote(m.dir));
    line("cache_control", quote(m.cache_control));
    line("allow_dotfiles", m.allow_dotfiles ? "true" : "false");
    line("index", quote(m.index));
    line("precompressed", m.precompressed ? "true" : "false");
    line("fallthrough", m.fallthrough ? "true" : "false");
  }
  return o;
}

}  // namespace hearth::config
