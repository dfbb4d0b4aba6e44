#include "config/validate.h"

#include <algorithm>

#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include "config/bind.h"
#include "config/schema.h"
#include "config/units.h"

namespace hearth::config {
namespace {

bool is_identifier(std::string_view s) {
  if (s.empty()) return false;
  auto c0 = static_cast<unsigned char>(s[0]);
  if (!(std::isalpha(c0) || c0 == '_')) return false;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (!(std::isalnum(u) || u == '_')) return false;
  }
  return true;
}

// RFC 9110 token: methods and header names.
bool is_http_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (!(std::isalnum(u) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos)) return false;
  }
  return true;
}

}  // namespace

std::string static_root(const Config& cfg, const StaticMount& m) {
  if (m.dir.empty() || m.dir.front() == '/' || cfg.chdir.empty()) return m.dir;
  std::string base = cfg.chdir;
  if (base.back() != '/') base.push_back('/');
  return base + m.dir;
}

std::string error_page_path(const Config& cfg, const ErrorPage& p) {
  if (p.file.empty() || p.file.front() == '/' || cfg.chdir.empty()) return p.file;
  std::string base = cfg.chdir;
  if (base.back() != '/') base.push_back('/');
  return base + p.file;
}

bool is_app_spec(std::string_view app) {
  size_t colon = app.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view module = app.substr(0, colon);
  std::string_view callable = app.substr(colon + 1);
  while (true) {
    size_t dot = module.find('.');
    if (!is_identifier(module.substr(0, dot))) return false;
    if (dot == std::string_view::npos) break;
    module.remove_prefix(dot + 1);
  }
  if (callable.size() > 2 && callable.substr(callable.size() - 2) == "()") {
    callable.remove_suffix(2);
  }
  return is_identifier(callable);
}

std::vector<std::string> validate(const Config& cfg, Action action, const Provenance& prov) {
  std::vector<std::string> errors;
  auto fail = [&](const std::string& key, const std::string& msg) { errors.push_back(prov.label(key) + ": " + msg); };

  if (action == Action::Run || action == Action::CheckConfig) {
    if (cfg.app.empty()) {
      errors.push_back("no application given: pass MODULE:CALLABLE or set app in the config file");
    } else if (!is_app_spec(cfg.app)) {
      fail("app", "expected MODULE:CALLABLE or MODULE:FACTORY() such as myproject.wsgi:application, got '" +
                      cfg.app + "'");
    }
  }
  if (cfg.python.empty()) fail("python", "must not be empty");
  // Lower bounds from the schema (Field::min): counts and sizes here, durations below.
  // The accessors take a Config& (the reader writes through them); here they are only read.
  Config& fields = const_cast<Config&>(cfg);
  for (const auto& k : schema()) {
    if (k.field.min == 0) continue;
    uint64_t v = 0;
    if (k.field.kind == Field::Kind::Count) v = *k.field.u32(fields);
    else if (k.field.kind == Field::Kind::Count64 || k.field.kind == Field::Kind::Size) v = *k.field.u64(fields);
    else continue;
    if (v < k.field.min) fail(std::string(k.key), "must be at least " + std::to_string(k.field.min));
  }
  // A FORK carries one socket per slot; the runtime accepts at most 256 (protocol.py MAX_FDS).
  if (cfg.concurrency > 256) fail("concurrency", "must be at most 256, got " + std::to_string(cfg.concurrency));
  if (cfg.threads > 256) fail("threads", "must be at most 256, got " + std::to_string(cfg.threads));
  // A request line and a Host field need room: 0 (or a few bytes) refuses every request.
  if (cfg.http.max_header_size < kMinHeaderSize) {
    fail("http.max_header_size", "must be at least " + std::to_string(kMinHeaderSize) + " bytes, got " +
                                     std::to_string(cfg.http.max_header_size));
  }
  // RFC 9113 6.5.2: SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1 is a FLOW_CONTROL_ERROR;
  // nghttp2 refuses to send such SETTINGS and every HTTP/2 client would fail.
  if (cfg.http.h2_initial_window_size > kMaxH2WindowSize) {
    fail("http.http2_initial_window_size", "must be at most " + std::to_string(kMaxH2WindowSize) +
                                               " (2^31-1, RFC 9113 6.5.2), got " +
                                               std::to_string(cfg.http.h2_initial_window_size));
  }
  if (cfg.http.backlog < 1 || cfg.http.backlog > 65535) fail("http.backlog", "must be from 1 to 65535");
  if (cfg.proc_name.size() > 15) fail("proc_name", "must be at most 15 bytes (the kernel's process name)");
  if (cfg.log.error_log.empty()) fail("log.error_log", "must be \"-\" (stderr) or a file path");

  for (const auto& k : schema()) {
    if (k.field.kind != Field::Kind::Duration || k.field.min == 0) continue;
    if (k.field.millis(fields)->count() >= static_cast<int64_t>(k.field.min)) continue;
    fail(std::string(k.key), k.field.min == 1 ? std::string("must be greater than 0")
                                              : "must be at least " + format_duration(Millis(k.field.min)));
  }

  if (cfg.binds.empty()) fail("bind", "at least one address is needed");
  for (size_t i = 0; i < cfg.binds.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (binds_conflict(cfg.binds[j], cfg.binds[i])) {
        fail("bind", "'" + cfg.binds[i].text + "' duplicates '" + cfg.binds[j].text + "'");
        break;
      }
    }
  }
  if (cfg.admin_bind) {
    for (const auto& b : cfg.binds) {
      if (binds_conflict(*cfg.admin_bind, b)) {
        fail("admin_bind", "'" + cfg.admin_bind->text + "' is also an application bind ('" + b.text + "')");
        break;
      }
    }
  }

  // --- TLS (the files themselves are checked by tls::check_files at start-up) ---
  if (!cfg.tls.enabled()) {
    if (!cfg.tls.keyfile.empty()) fail("keyfile", "is set but certfile is not");
    if (cfg.tls.hsts_max_age.count() > 0) fail("tls.hsts_max_age", "needs certfile (HSTS is only sent over HTTPS)");
    if (!cfg.tls.redirect_http_from.empty()) fail("tls.redirect_http_from", "needs certfile (there is no HTTPS to redirect to)");
    if (!cfg.tls.certificates.empty())
      fail("tls.certificates", "needs certfile (the certificate for clients asking for no name or another one)");
  }
  for (size_t i = 0; i < cfg.tls.redirect_http_from.size(); ++i) {
    const Bind& r = cfg.tls.redirect_http_from[i];
    auto clash = [&](const Bind& other, const std::string& what) {
      if (!binds_conflict(r, other)) return false;
      fail("tls.redirect_http_from", "'" + r.text + "' is also " + what + " ('" + other.text + "')");
      return true;
    };
    bool done = false;
    for (const auto& b : cfg.binds) {
      if ((done = clash(b, "an application bind"))) break;
    }
    if (!done && cfg.admin_bind) done = clash(*cfg.admin_bind, "the admin bind");
    for (size_t j = 0; !done && j < i; ++j) done = clash(cfg.tls.redirect_http_from[j], "listed before");
  }
  if (cfg.tls.enabled() && !cfg.tls.redirect_http_from.empty()) {
    bool tcp = false;
    for (const auto& b : cfg.binds) tcp = tcp || b.kind == Bind::Kind::Tcp;
    if (!tcp) fail("tls.redirect_http_from", "needs a TCP bind to redirect to (every bind is a Unix socket)");
  }

  // --- worker count bounds (0 = `workers`) ---
  uint32_t lo = cfg.min_workers ? cfg.min_workers : cfg.workers;
  uint32_t hi = cfg.max_workers ? cfg.max_workers : cfg.workers;
  if (lo > hi) {
    fail(cfg.min_workers ? "min_workers" : "max_workers",
         "min_workers (" + std::to_string(lo) + ") is above max_workers (" + std::to_string(hi) + ")");
  }

  // --- health checks, warm-up, keep-warm, hooks ---
  if (!cfg.health.path.empty()) {
    if (cfg.health.path.front() != '/') fail("health.path", "must start with '/', got '" + cfg.health.path + "'");
    if (cfg.health.unhealthy_threshold < 1) fail("health.unhealthy_threshold", "must be at least 1");
    if (cfg.health.healthy_threshold < 1) fail("health.healthy_threshold", "must be at least 1");
  }
  for (size_t i = 0; i < cfg.warmup.requests.size(); ++i) {
    const WarmupRequest& r = cfg.warmup.requests[i];
    std::string at = "warmup.requests[" + std::to_string(i) + "]";
    if (!is_http_token(r.method)) fail("warmup.requests", at + ".method: not an HTTP method: '" + r.method + "'");
    if (r.path.empty() || r.path.front() != '/') {
      fail("warmup.requests", at + ".path: must start with '/', got '" + r.path + "'");
    }
    for (const auto& [name, value] : r.headers) {
      if (!is_http_token(name)) fail("warmup.requests", at + ".headers: not a header name: '" + name + "'");
      if (value.find_first_of("\r\n") != std::string::npos) {
        fail("warmup.requests", at + ".headers: the value of '" + name + "' contains a line break");
      }
    }
  }
  if (!cfg.keepwarm.url.empty()) {
    const std::string& u = cfg.keepwarm.url;
    if (u.rfind("http://", 0) != 0 && u.rfind("https://", 0) != 0) {
      fail("keepwarm.url", "expected an http:// or https:// URL, got '" + u + "'");
    }
    if (cfg.keepwarm.jitter > cfg.keepwarm.interval) fail("keepwarm.jitter", "must not exceed keepwarm.interval");
  }
  const std::pair<const char*, const std::string*> hooks[] = {
      {"hooks.pre_fork", &cfg.hooks.pre_fork},
      {"hooks.post_fork", &cfg.hooks.post_fork},
      {"hooks.worker_exit", &cfg.hooks.worker_exit},
  };
  for (const auto& [key, value] : hooks) {
    if (!value->empty() && (!is_app_spec(*value) || value->back() == ')')) {
      fail(key, "expected MODULE:FUNCTION such as myproject.hooks:post_fork, got '" + *value + "'");
    }
  }
  // --- static mounts ---
  for (size_t i = 0; i < cfg.statics.size(); ++i) {
    const StaticMount& m = cfg.statics[i];
    std::string at = "static[" + std::to_string(i) + "]";
    auto has_ctl = [](const std::string& s) {
      for (unsigned char c : s) {
        if (c < 0x20 || c == 0x7f) return true;
      }
      return false;
    };
    if (m.prefix.empty() || m.prefix.front() != '/') {
      fail("static", at + ".prefix: must start with '/', got '" + m.prefix + "'");
    } else if (m.prefix.find_first_of("?#%\\") != std::string::npos || has_ctl(m.prefix) ||
               m.prefix.find("/./") != std::string::npos || m.prefix.find("/../") != std::string::npos) {
      fail("static", at + ".prefix: a plain URL path is expected (no '?', '#', '%', '\\', '.' or '..' segments), got '" +
                         m.prefix + "'");
    }
    for (size_t j = 0; j < i; ++j) {
      auto norm = [](std::string p) {
        if (p.empty() || p.back() != '/') p.push_back('/');
        return p;
      };
      if (norm(cfg.statics[j].prefix) == norm(m.prefix)) {
        fail("static", at + ".prefix: '" + m.prefix + "' is already mounted by static[" + std::to_string(j) + "]");
      }
    }
    if (m.dir.empty()) {
      fail("static", at + ".dir: must not be empty");
    } else {
      std::string root = static_root(cfg, m);
      struct stat st;
      if (::stat(root.c_str(), &st) != 0) {
        fail("static", at + ".dir: cannot use '" + root + "': " + std::strerror(errno));
      } else if (!S_ISDIR(st.st_mode)) {
        fail("static", at + ".dir: '" + root + "' is not a directory");
      }
    }
    if (m.index.find('/') != std::string::npos || m.index == "." || m.index == ".." || has_ctl(m.index)) {
      fail("static", at + ".index: a file name without '/' is expected, got '" + m.index + "'");
    }
    if (has_ctl(m.cache_control)) fail("static", at + ".cache_control: contains a control character");
  }
  // --- compression ---
  if (cfg.compression.level < 1 || cfg.compression.level > 11) {
    fail("compression.level", "must be 1..11, got " + std::to_string(cfg.compression.level));
  }
  if (cfg.compression.enabled && cfg.compression.algorithms.empty()) {
    fail("compression.algorithms", "must name \"br\" or \"gzip\" when compression is enabled");
  }
  // --- error pages ---
  for (size_t i = 0; i < cfg.error_pages.size(); ++i) {
    const ErrorPage& p = cfg.error_pages[i];
    std::string at = "error_page[" + std::to_string(i) + "]";
    for (int s : p.status) {
      if (s < 400 || s > 599) fail("error_page", at + ".status: " + std::to_string(s) + " is not a 4xx or 5xx status");
      for (size_t j = 0; j < i; ++j) {
        const auto& o = cfg.error_pages[j].status;
        if (std::find(o.begin(), o.end(), s) != o.end()) {
          fail("error_page", at + ".status: " + std::to_string(s) + " already has a page in error_page[" +
                                 std::to_string(j) + "]");
        }
      }
    }
    if (p.status.empty()) fail("error_page", at + ".status: needs at least one status");
    std::string path = error_page_path(cfg, p);
    struct stat st;
    if (p.file.empty()) {
      fail("error_page", at + ".file: must not be empty");
    } else if (::stat(path.c_str(), &st) != 0) {
      fail("error_page", at + ".file: cannot use '" + path + "': " + std::strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
      fail("error_page", at + ".file: '" + path + "' is not a regular file");
    } else if (st.st_size > 1024 * 1024) {
      fail("error_page", at + ".file: '" + path + "' is larger than 1 MiB");
    }
  }
  // --- rate limits ---
  for (size_t i = 0; i < cfg.rate_limits.size(); ++i) {
    const RateLimitRule& r = cfg.rate_limits[i];
    std::string at = "rate_limit[" + std::to_string(i) + "]";
    if (r.prefix.empty() || r.prefix.front() != '/') {
      fail("rate_limit", at + ".prefix: must start with '/', got '" + r.prefix + "'");
    }
    if (r.key != "client_ip") fail("rate_limit", at + ".key: only \"client_ip\" is supported, got '" + r.key + "'");
    if (!(r.per_second > 0)) fail("rate_limit", at + ".rate: expected a rate such as \"10/s\", got '" + r.rate + "'");
    for (size_t j = 0; j < i; ++j) {
      const RateLimitRule& o = cfg.rate_limits[j];
      auto sorted = [](std::vector<std::string> v) {
        std::sort(v.begin(), v.end());
        return v;
      };
      if (o.prefix == r.prefix && sorted(o.methods) == sorted(r.methods)) {
        fail("rate_limit", at + ": prefix '" + r.prefix + "' with the same methods is already limited by rate_limit[" +
                               std::to_string(j) + "]");
      }
    }
  }
  return errors;
}

}  // namespace hearth::config
