#include "config/cli.h"

#include <algorithm>
#include <cctype>

#include "config/bind.h"
#include "config/defaults.h"
#include "config/edit_distance.h"
#include "config/schema.h"
#include "config/units.h"

namespace hearth::config {

// State shared by the flags while they are applied in order.
struct CliState {
  bool binds_replaced = false;       // the first -b drops the file's binds
  bool pythonpath_replaced = false;  // likewise for --pythonpath
};

// What a flag does with its value. Returns "" on success, or what was
// expected ("a non-negative integer") for the message.
using ApplyFn = std::string (*)(std::string_view value, Config& cfg, CliState& st);

struct FlagSpec {
  const char* long_name;   // "workers" (without the dashes)
  char short_name;         // 'w', or 0
  const char* metavar;     // "N"; nullptr for a flag without a value
  const char* group;       // heading in --help
  const char* key;         // config key it sets, for provenance; nullptr if none
  const char* help;
  std::string (*default_text)(const Config& d);  // nullptr = no default shown
  // nullptr with a `key`: the key's schema Field parses and sets the value
  // (apply_field below), with the same words as the config file. nullptr
  // without one: the action flags and -c.
  ApplyFn apply;
};

namespace {

using namespace std::string_literals;

std::string set_duration(std::string_view v, Millis* out) {
  auto d = parse_duration(v);
  if (!d) return std::string(kDurationExpected);
  *out = *d;
  return "";
}
// What a count flag expected: out of range (all digits) says the bound.
std::string count_expected(std::string_view v, uint64_t max) {
  bool digits = !v.empty() && v.find_first_not_of("0123456789") == std::string_view::npos;
  return digits ? "a non-negative integer at most " + std::to_string(max) : "a non-negative integer";
}
std::string set_count(std::string_view v, uint32_t* out) {
  auto n = parse_uint(v, UINT32_MAX);
  if (!n) return count_expected(v, UINT32_MAX);
  *out = static_cast<uint32_t>(*n);
  return "";
}
std::string set_string(std::string_view v, std::string* out) {
  *out = std::string(v);
  return "";
}

// A flag whose row has no apply function: its key's Field says how to take
// the value. A unit test (Cli.FlagsWithoutApplyHaveASettableKey) checks that
// every such key has one of these kinds.
std::string apply_field(const char* key, std::string_view v, Config& c) {
  using Kind = Field::Kind;
  const KeySpec* spec = find_key(key);
  if (!spec) return "a value for an unknown key";  // cannot happen: Schema.EveryFlagSetsAKeyOfTheSchema
  const Field& f = spec->field;
  switch (f.kind) {
    case Kind::String:
    case Kind::Secret: return set_string(v, f.text(c));
    case Kind::Count: return set_count(v, f.u32(c));
    case Kind::Count64: {
      auto n = parse_uint(v, UINT64_MAX);
      if (!n) return count_expected(v, UINT64_MAX);
      *f.u64(c) = *n;
      return "";
    }
    case Kind::Size: {
      auto n = parse_size(v);
      if (!n) return std::string(kSizeExpected);
      *f.u64(c) = *n;
      return "";
    }
    case Kind::Duration: return set_duration(v, f.millis(c));
    case Kind::Choice: {
      auto x = f.parse(v);
      if (!x) return std::string(f.expected);
      *f.text(c) = *x;
      return "";
    }
    case Kind::Bool:
    case Kind::List:
    case Kind::Section:
    case Kind::Custom: break;
  }
  return "a value this flag cannot take";  // cannot happen: see the unit test above
}

std::string q(const std::string& s) { return s.empty() ? "(none)"s : s; }

// The table: every flag hearthd accepts. Order within a group is help order.
const FlagSpec kFlags[] = {
    // --- Config ---
    {"config", 'c', "FILE", "General", nullptr,
     "TOML config file (default: $HEARTH_CONFIG, else none)", nullptr, nullptr},
    {"check-config", 0, nullptr, "General", nullptr,
     "validate the configuration, print it, and exit (0 ok, 2 errors)", nullptr, nullptr},
    {"help", 'h', nullptr, "General", nullptr, "show this help and exit", nullptr, nullptr},
    {"version", 'v', nullptr, "General", nullptr, "show the version and exit", nullptr, nullptr},
    {"print-config-reference", 0, nullptr, "General", nullptr,
     "print every config key, flag and default as Markdown (docs/config.md) and exit", nullptr, nullptr},
    // --- Application ---
    {"python", 0, "PATH", "Application", "python", "Python interpreter (or a virtualenv's bin/python)",
     [](const Config& d) { return d.python; },
     nullptr},
    {"chdir", 0, "DIR", "Application", "chdir", "change the workers' directory before loading the app",
     [](const Config& d) { return d.chdir.empty() ? "the daemon's cwd"s : d.chdir; },
     nullptr},
    {"pythonpath", 0, "DIRS", "Application", "pythonpath",
     "comma-separated directories prepended to sys.path (repeatable)", nullptr,
     [](std::string_view v, Config& c, CliState& st) -> std::string {
       std::vector<std::string> parts;
       while (true) {
         size_t comma = v.find(',');
         std::string_view p = v.substr(0, comma);
         if (p.empty()) return "comma-separated directories";
         parts.emplace_back(p);
         if (comma == std::string_view::npos) break;
         v.remove_prefix(comma + 1);
       }
       if (!st.pythonpath_replaced) c.pythonpath.clear();
       st.pythonpath_replaced = true;
       c.pythonpath.insert(c.pythonpath.end(), parts.begin(), parts.end());
       return "";
     }},
    {"preload", 0, nullptr, "Application", "preload", "import the app once in the zygote, then fork workers",
     [](const Config& d) { return d.preload ? "on"s : "off"s; },
     [](std::string_view, Config& c, CliState&) { c.preload = true; return ""s; }},
    {"no-preload", 0, nullptr, "Application", "preload", "import the app in each worker instead", nullptr,
     [](std::string_view, Config& c, CliState&) { c.preload = false; return ""s; }},
    {"interface", 0, "KIND", "Application", "interface", "wsgi, asgi or auto (detect a coroutine app as ASGI 3)",
     [](const Config& d) { return d.interface; },
     nullptr},
    {"lifespan", 0, "MODE", "Application", "lifespan", "ASGI lifespan events: auto, on or off",
     [](const Config& d) { return d.lifespan; },
     nullptr},
    {"env", 'e', "KEY=VALUE", "Application", "env", "set an environment variable for the app (repeatable)",
     nullptr,
     [](std::string_view v, Config& c, CliState&) -> std::string {
       size_t eq = v.find('=');
       if (eq == 0 || eq == std::string_view::npos) return "KEY=VALUE";
       c.env[std::string(v.substr(0, eq))] = std::string(v.substr(eq + 1));
       return "";
     }},
    {"static", 0, "PREFIX=DIR", "Application", "static",
     "serve the files in DIR at URL PREFIX without the app (repeatable; adds to [[static]])", nullptr,
     [](std::string_view v, Config& c, CliState&) -> std::string {
       size_t eq = v.find('=');
       if (eq == 0 || eq == std::string_view::npos || eq + 1 == v.size()) return "PREFIX=DIR such as /static=./static";
       StaticMount m;
       m.prefix = std::string(v.substr(0, eq));
       m.dir = std::string(v.substr(eq + 1));
       c.statics.push_back(std::move(m));
       return "";
     }},
    // --- Listeners ---
    {"bind", 'b', "ADDR", "Listeners", "bind",
     "listen on HOST:PORT, [V6]:PORT, :PORT or unix:/path (repeatable; replaces the file's bind)",
     [](const Config& d) { return to_string(d.binds.front()) + " ($PORT: 0.0.0.0:$PORT)"; },
     [](std::string_view v, Config& c, CliState& st) -> std::string {
       auto b = parse_bind(v);
       if (!b) return std::string(kBindExpected);
       if (!st.binds_replaced) c.binds.clear();
       st.binds_replaced = true;
       c.binds.push_back(*b);
       return "";
     }},
    {"admin-bind", 0, "ADDR", "Listeners", "admin_bind", "serve /healthz, /readyz and /metrics here",
     [](const Config&) { return "off"s; },
     [](std::string_view v, Config& c, CliState&) -> std::string {
       auto b = parse_bind(v);
       if (!b) return std::string(kBindExpected);
       c.admin_bind = *b;
       return "";
     }},
    {"control-socket", 0, "PATH", "Listeners", "control_socket", "Unix socket for hearthctl",
     [](const Config&) { return "$XDG_RUNTIME_DIR/hearthd.sock, else /tmp/hearthd-UID.sock"s; },
     nullptr},
    {"certfile", 0, "FILE", "Listeners", "certfile",
     "serve HTTPS on every bind with this PEM certificate chain (as gunicorn does)",
     [](const Config&) { return "off"s; },
     [](std::string_view v, Config& c, CliState&) -> std::string {
       if (v.empty()) return "a file path";
       return set_string(v, &c.tls.certfile);
     }},
    {"keyfile", 0, "FILE", "Listeners", "keyfile", "PEM private key for --certfile",
     [](const Config&) { return "in the certfile"s; },
     [](std::string_view v, Config& c, CliState&) -> std::string {
       if (v.empty()) return "a file path";
       return set_string(v, &c.tls.keyfile);
     }},
    {"metrics-token", 0, "TOKEN", "Listeners", "metrics_token",
     "require \"Authorization: Bearer TOKEN\" for /metrics (also $HEARTH_METRICS_TOKEN)",
     [](const Config&) { return "none"s; },
     nullptr},
    {"forwarded-allow-ips", 0, "LIST", "Listeners", "forwarded_allow_ips",
     "peers trusted to set X-Forwarded-*: comma-separated IPs/CIDRs, or *",
     [](const Config& d) {
       std::string s;
       for (const auto& ip : d.forwarded_allow_ips) s += (s.empty() ? "" : ",") + ip;
       return s;
     },
     [](std::string_view v, Config& c, CliState&) -> std::string {
       auto l = parse_allow_ips(v);
       if (!l) return "IP addresses or CIDR ranges separated by commas, or *";
       c.forwarded_allow_ips = *l;
       return "";
     }},
    {"proxy-protocol", 0, nullptr, "Listeners", "proxy_protocol",
     "every bind expects a PROXY protocol v1/v2 header from --proxy-allow-from peers",
     [](const Config& d) { return d.proxy_protocol ? "on"s : "off"s; },
     [](std::string_view, Config& c, CliState&) { c.proxy_protocol = true; return ""s; }},
    {"proxy-allow-from", 0, "LIST", "Listeners", "proxy_allow_ips",
     "peers allowed to send the PROXY header: comma-separated IPs/CIDRs, or *",
     [](const Config& d) {
       std::string s;
       for (const auto& ip : d.proxy_allow_ips) s += (s.empty() ? "" : ",") + ip;
       return s;
     },
     [](std::string_view v, Config& c, CliState&) -> std::string {
       auto l = parse_allow_ips(v);
       if (!l) return "IP addresses or CIDR ranges separated by commas, or *";
       c.proxy_allow_ips = *l;
       return "";
     }},
    {"backlog", 0, "N", "Listeners", "http.backlog", "listen() backlog of every bind (as gunicorn's --backlog)",
     [](const Config& d) { return std::to_string(d.http.backlog); },
     nullptr},
    // --- Privileges ---
    {"user", 'u', "USER", "Privileges", "user", "started as root: run as this user (name or uid) after binding",
     [](const Config&) { return "none"s; },
     nullptr},
    {"group", 'g', "GROUP", "Privileges", "group", "with --user: run as this group (default: the user's)",
     [](const Config&) { return "the user's primary group"s; },
     nullptr},
    {"allow-root", 0, nullptr, "Privileges", "allow_root",
     "started as root without --user: run the app as root anyway (also $HEARTH_ALLOW_ROOT=1)",
     [](const Config& d) { return d.allow_root ? "on"s : "off"s; },
     [](std::string_view, Config& c, CliState&) { c.allow_root = true; return ""s; }},
    // --- Process ---
    {"pid", 'p', "FILE", "Process", "pid_file", "write hearthd's pid to FILE at start; removed at exit",
     [](const Config&) { return "none"s; },
     [](std::string_view v, Config& c, CliState&) -> std::string {
       if (v.empty()) return "a file path";
       return set_string(v, &c.pid_file);
     }},
    {"name", 'n', "NAME", "Process", "proc_name", "process names in ps/top: NAME, NAME:zygote, NAME:worker (15 bytes at most)",
     [](const Config&) { return "hearthd"s; },
     [](std::string_view v, Config& c, CliState&) -> std::string {
       if (v.empty()) return "a process name";
       return set_string(v, &c.proc_name);
     }},
    {"umask", 'm', "MASK", "Process", "umask", "file-mode mask for the daemon and the app, in octal (027, 0o027)",
     [](const Config&) { return "inherited"s; },
     [](std::string_view v, Config& c, CliState&) -> std::string {
       auto m = parse_umask(v);
       if (!m) return "an octal mask such as 027 (at most 0777)";
       c.umask = static_cast<int32_t>(*m);
       return "";
     }},
    // --- Workers ---
    {"workers", 'w', "N", "Workers", "workers", "worker processes; 0 = 2 x usable CPUs + 1 ($WEB_CONCURRENCY)",
     [](const Config&) { return "2 x CPUs + 1"s; },
     nullptr},
    {"threads", 0, "N", "Workers", "threads", "concurrent requests per worker",
     [](const Config& d) { return std::to_string(d.threads); },
     nullptr},
    {"worker-class", 'k', "CLASS", "Workers", nullptr,
     "gunicorn's worker class: sync or gthread (sync workers with --threads N), uvicorn.workers.UvicornWorker "
     "(= --interface asgi); others are refused",
     [](const Config&) { return "sync"s; },
     [](std::string_view v, Config&, CliState&) -> std::string {
       return v == "sync" || v == "gthread" ? ""s : "sync or gthread"s;
     }},
    {"concurrency", 0, "N", "Workers", "concurrency", "ASGI: concurrent requests per worker on its event loop",
     [](const Config& d) { return std::to_string(d.concurrency); },
     nullptr},
    {"worker-tmp-dir", 0, "DIR", "Workers", nullptr,
     "accepted for gunicorn command lines; hearthd keeps no heartbeat files, so nothing is written there",
     nullptr,
     [](std::string_view v, Config&, CliState&) -> std::string { return v.empty() ? "a directory"s : ""s; }},
    {"max-queue", 0, "N", "Workers", "max_queue", "requests waiting for a worker before 503",
     [](const Config& d) { return std::to_string(d.max_queue); },
     nullptr},
    {"max-requests", 0, "N", "Workers", "max_requests", "recycle a worker after N requests; 0 = never",
     [](const Config& d) { return std::to_string(d.max_requests); },
     nullptr},
    {"max-requests-jitter", 0, "N", "Workers", "max_requests_jitter",
     "add 0..N to each worker's max-requests, so they do not recycle together",
     [](const Config& d) { return std::to_string(d.max_requests_jitter); },
     nullptr},
    // --- Timeouts ---
    {"timeout", 't', "DUR", "Timeouts", "timeout", "longest a worker may spend on one request (504, worker killed)",
     [](const Config& d) { return format_duration(d.timeout); },
     nullptr},
    {"graceful-timeout", 0, "DUR", "Timeouts", "graceful_timeout", "time for in-flight requests on stop/reload",
     [](const Config& d) { return format_duration(d.graceful_timeout); },
     nullptr},
    {"boot-timeout", 0, "DUR", "Timeouts", "boot_timeout", "time to import the app and start a worker",
     [](const Config& d) { return format_duration(d.boot_timeout); },
     nullptr},
    {"queue-timeout", 0, "DUR", "Timeouts", "queue_timeout", "longest a request may wait for a worker (503)",
     [](const Config& d) { return format_duration(d.queue_timeout); },
     nullptr},
    {"keep-alive", 0, "DUR", "Timeouts", "http.keepalive_timeout", "idle time on a kept-alive connection",
     [](const Config& d) { return format_duration(d.http.keepalive_timeout); },
     nullptr},
    // --- HTTP ---
    {"max-body-size", 0, "SIZE", "HTTP", "http.max_body_size", "largest request body (413)",
     [](const Config& d) { return format_size(d.http.max_body_size); },
     nullptr},
    {"limit-request-line", 0, "N", "HTTP", "http.max_request_line",
     "longest HTTP/1.1 request line, bytes (414); 0 = only the head limit (http.max_header_size)",
     [](const Config& d) { return d.http.max_request_line ? format_size(d.http.max_request_line) : "0"s; },
     [](std::string_view v, Config& c, CliState&) -> std::string {
       auto n = parse_uint(v, UINT32_MAX);
       if (!n) return "a non-negative integer";
       c.http.max_request_line = *n;
       return "";
     }},
    {"limit-request-fields", 0, "N", "HTTP", "http.max_headers", "header fields per request (431)",
     [](const Config& d) { return std::to_string(d.http.max_headers); },
     [](std::string_view v, Config& c, CliState&) -> std::string {
       auto n = parse_uint(v, 32768);
       if (!n || *n == 0) return "a number of header fields from 1 to 32768 (hearthd always limits them)";
       c.http.max_headers = static_cast<uint32_t>(*n);
       return "";
     }},
    {"limit-request-field_size", 0, "N", "HTTP", "http.max_header_field_size",
     "largest header field (name and value), bytes (431); 0 = only the head limit (http.max_header_size)",
     [](const Config& d) { return d.http.max_header_field_size ? format_size(d.http.max_header_field_size) : "0"s; },
     [](std::string_view v, Config& c, CliState&) -> std::string {
       auto n = parse_uint(v, UINT32_MAX);
       if (!n) return "a non-negative integer";
       c.http.max_header_field_size = *n;
       return "";
     }},
    // --- Logging ---
    {"log-level", 0, "LEVEL", "Logging", "log.level", "error, warn, info or debug",
     [](const Config& d) { return d.log.level; },
     nullptr},
    {"error-logfile", 0, "PATH", "Logging", "log.error_log",
     "the daemon's own log (and the app's stderr): - = stderr, else a file reopened on SIGUSR1",
     [](const Config& d) { return d.log.error_log; },
     [](std::string_view v, Config& c, CliState&) -> std::string {
       if (v.empty()) return "a file path or - for stderr";
       return set_string(v, &c.log.error_log);
     }},
    {"log-file", 0, "PATH", "Logging", "log.error_log", "the same as --error-logfile (gunicorn's other name)",
     nullptr,
     [](std::string_view v, Config& c, CliState&) -> std::string {
       if (v.empty()) return "a file path or - for stderr";
       return set_string(v, &c.log.error_log);
     }},
    {"capture-output", 0, nullptr, "Logging", "log.capture_output", "send the app's stdout to the error log too",
     [](const Config& d) { return d.log.capture_output ? "on"s : "off"s; },
     [](std::string_view, Config& c, CliState&) { c.log.capture_output = true; return ""s; }},
    {"access-logfile", 0, "PATH", "Logging", "log.access_log", "access log file; - = stdout, empty = off",
     [](const Config& d) { return q(d.log.access_log); },
     nullptr},
    {"access-log-format", 0, "FORMAT", "Logging", "log.access_log_format", "combined or json",
     [](const Config& d) { return d.log.access_log_format; },
     nullptr},
};

// gunicorn flags that have no meaning in hearthd: refused with what to use
// instead (docs/migrating-from-gunicorn.md). Their value, if any, is consumed
// so that it is not reported a second time as a stray argument.
struct RejectedFlag {
  const char* long_name;
  char short_name;
  bool takes_value;
  const char* message;
};
const RejectedFlag kRejected[] = {
    {"reload", 0, false,
     "hearthd does not watch files: use `hearthctl reload` (from your deploy script, or a file watcher that runs it)"},
    {"reload-engine", 0, true, "hearthd does not watch files: use `hearthctl reload`"},
    {"reload-extra-file", 0, true, "hearthd does not watch files: use `hearthctl reload`"},
    {"daemon", 'D', false,
     "hearthd runs in the foreground: run it under systemd (packaging/systemd/hearthd.service), a container or "
     "your process manager"},
    {"worker-connections", 0, true,
     "only gevent/eventlet workers use it; hearthd's workers are sync, with --threads N concurrent requests each"},
    {"statsd-host", 0, true,
     "hearthd has no StatsD client: use --admin-bind ADDR and scrape the Prometheus /metrics (docs/metrics.md)"},
    {"access-logformat", 0, true,
     "hearthd has no access log format strings: use --access-log-format combined or json"},
};

const RejectedFlag* find_rejected(std::string_view typed) {
  for (const auto& r : kRejected) {
    if ((typed.size() > 2 && typed.substr(0, 2) == "--" && typed.substr(2) == r.long_name) ||
        (r.short_name && typed.size() == 2 && typed[0] == '-' && typed[1] == r.short_name))
      return &r;
  }
  return nullptr;
}

// -k uvicorn.workers.UvicornWorker / UvicornH11Worker: an ASGI app (--interface asgi).
bool is_asgi_worker_class(std::string_view v) {
  return v == "uvicorn.workers.UvicornWorker" || v == "uvicorn.workers.UvicornH11Worker";
}

// -k/--worker-class: what hearthd can and cannot run.
std::string worker_class_error(const std::string& typed, const std::string& v) {
  if (v == "sync" || v == "gthread" || is_asgi_worker_class(v)) return "";
  if (v.find("uvicorn") != std::string::npos || v.find("Uvicorn") != std::string::npos ||
      v.find("ASGI") != std::string::npos || v.find("asgi") != std::string::npos)
    return typed + " " + v + ": hearthd serves ASGI apps itself: use -k uvicorn.workers.UvicornWorker or "
                             "--interface asgi (docs/asgi.md)";
  return typed + " " + v + ": hearthd has one worker type, sync workers with --threads N concurrent requests "
                           "each (-k sync, -k gthread); it buffers slow clients itself, the main reason for "
                           "gevent/eventlet workers";
}

const FlagSpec* find_long(std::string_view name) {
  for (const auto& f : kFlags) {
    if (name == f.long_name) return &f;
  }
  return nullptr;
}
const FlagSpec* find_short(char c) {
  for (const auto& f : kFlags) {
    if (f.short_name == c) return &f;
  }
  return nullptr;
}

// "--wrokers" -> "--workers"; "" when no long flag is within 2 edits.
std::string suggest_flag(std::string_view typed) {
  if (typed.substr(0, 2) != "--") return "";
  std::string best;
  size_t best_d = 3;
  for (const auto& f : kFlags) {
    size_t d = edit_distance(typed.substr(2), f.long_name);
    if (d < best_d) {
      best_d = d;
      best = std::string("--") + f.long_name;
    }
  }
  return best;
}

// An argument that is a flag rather than a value: "-x..." or "--x...", but
// not "-" (stdout) and not "-5" (a bad number, reported as such).
bool looks_like_flag(const std::string& a) {
  return a.size() >= 2 && a[0] == '-' && !std::isdigit(static_cast<unsigned char>(a[1]));
}

}  // namespace

CommandLine parse_command_line(const std::vector<std::string>& args) {
  CommandLine cl;
  bool only_positional = false;
  bool action_set = false;
  auto set_action = [&](Action a) {
    // --help and --version win over everything; otherwise the first wins.
    if (a == Action::Help || a == Action::Version) {
      if (cl.action != Action::Help && cl.action != Action::Version) cl.action = a;
    } else if (!action_set) {
      cl.action = a;
    }
    action_set = true;
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (only_positional || !looks_like_flag(arg)) {
      if (cl.settings.end() != std::find_if(cl.settings.begin(), cl.settings.end(),
                                            [](const auto& s) { return s.flag == nullptr; })) {
        cl.errors.push_back("unexpected argument '" + arg + "': only one APP may be given");
      } else {
        cl.settings.push_back({nullptr, "APP", arg});
      }
      continue;
    }
    if (arg == "--") {
      only_positional = true;
      continue;
    }
    const FlagSpec* flag = nullptr;
    std::string typed;
    std::optional<std::string> inline_value;
    if (arg.rfind("--", 0) == 0) {
      size_t eq = arg.find('=');
      typed = arg.substr(0, eq);
      if (eq != std::string::npos) inline_value = arg.substr(eq + 1);
      flag = find_long(std::string_view(typed).substr(2));
    } else {
      typed = arg.substr(0, 2);
      if (arg.size() > 2) inline_value = arg.substr(2);  // "-w4", "-b:8000"
      flag = find_short(arg[1]);
    }
    if (!flag) {
      if (const RejectedFlag* r = find_rejected(typed)) {
        cl.errors.push_back(typed + ": not supported: " + r->message);
        if (r->takes_value && !inline_value && i + 1 < args.size() && !looks_like_flag(args[i + 1])) ++i;
        continue;
      }
      std::string hint = suggest_flag(typed);
      cl.errors.push_back(typed + ": unknown option (" + (hint.empty() ? "see --help" : "did you mean " + hint + "?") +
                          ")");
      continue;
    }
    std::string value;
    if (flag->metavar == nullptr) {
      if (inline_value) {
        cl.errors.push_back(typed + ": takes no value");
        continue;
      }
    } else if (inline_value) {
      value = *inline_value;
    } else if (i + 1 < args.size() && !looks_like_flag(args[i + 1])) {
      value = args[++i];
    } else {
      cl.errors.push_back(typed + ": missing value (" + flag->metavar + ")");
      continue;
    }
    std::string_view name = flag->long_name;
    if (name == "help") {
      set_action(Action::Help);
    } else if (name == "version") {
      set_action(Action::Version);
    } else if (name == "check-config") {
      set_action(Action::CheckConfig);
    } else if (name == "print-config-reference") {
      set_action(Action::PrintReference);
    } else if (name == "config") {
      cl.config_file = value;
    } else {
      if (name == "bind") cl.sets_bind = true;
      if (name == "workers") cl.sets_workers = true;
      cl.settings.push_back({flag, typed, value});
    }
  }
  return cl;
}

void apply_command_line(const CommandLine& cl, Config& cfg, Provenance& prov, std::vector<std::string>& errors) {
  CliState st;
  for (const auto& s : cl.settings) {
    if (s.flag == nullptr) {
      cfg.app = s.value;
      prov.set("app", "APP");
      continue;
    }
    if (std::string_view(s.flag->long_name) == "worker-class") {
      std::string err = worker_class_error(s.as_typed, s.value);
      if (!err.empty()) errors.push_back(err);
      if (is_asgi_worker_class(s.value)) {
        cfg.interface = "asgi";
        prov.set("interface", s.as_typed);
      }
      continue;
    }
    std::string expected =
        s.flag->apply ? s.flag->apply(s.value, cfg, st) : apply_field(s.flag->key, s.value, cfg);
    if (!expected.empty()) {
      errors.push_back(s.as_typed + ": expected " + expected + ", got '" + s.value + "'");
      continue;
    }
    if (s.flag->key) prov.set(s.flag->key, s.as_typed);
  }
}

std::vector<std::string> long_flags() {
  std::vector<std::string> out;
  for (const auto& f : kFlags) out.push_back(std::string("--") + f.long_name);
  return out;
}

std::vector<FlagInfo> flag_infos() {
  std::vector<FlagInfo> out;
  for (const auto& f : kFlags) {
    FlagInfo i;
    if (f.short_name) i.synopsis = std::string("-") + f.short_name + ", ";
    i.synopsis += std::string("--") + f.long_name;
    if (f.metavar) i.synopsis += std::string(" ") + f.metavar;
    i.key = f.key ? f.key : "";
    i.help = f.help;
    i.group = f.group;
    i.from_schema = f.apply == nullptr && f.key != nullptr;
    out.push_back(std::move(i));
  }
  return out;
}

std::string help_text() {
  const Config d = default_config();
  std::string out =
      "usage: hearthd [OPTIONS] [APP]\n"
      "\n"
      "Serve a Python WSGI application. APP is MODULE:CALLABLE (or MODULE:FACTORY()),\n"
      "e.g. myproject.wsgi:application. Settings come from, lowest first: built-in\n"
      "defaults, the config file, the environment ($PORT, $WEB_CONCURRENCY), then\n"
      "these options. Every option also takes the --flag=value form. DUR is a\n"
      "duration (30, 30s, 250ms, 1m30s); SIZE is a size (512, 64KiB, 10MB).\n";
  std::string group;
  for (const auto& f : kFlags) {
    if (group != f.group) {
      group = f.group;
      out += "\n" + group + ":\n";
    }
    std::string left = "  ";
    left += f.short_name ? std::string("-") + f.short_name + ", " : "    ";
    left += std::string("--") + f.long_name;
    if (f.metavar) left += std::string(" ") + f.metavar;
    std::string help = f.help;
    if (f.default_text) help += " [default: " + f.default_text(d) + "]";
    // Description in a column from 32 to 79, wrapped at spaces.
    constexpr size_t kCol = 32, kWidth = 79;
    out += left;
    size_t used = left.size();
    if (used >= kCol) {
      out += "\n";
      used = 0;
    }
    bool first_word = true;
    for (size_t pos = 0; pos < help.size();) {
      size_t end = help.find(' ', pos);
      if (end == std::string::npos) end = help.size();
      std::string word = help.substr(pos, end - pos);
      pos = end + 1;
      size_t col = used < kCol ? kCol : used + 1;
      if (!first_word && col + word.size() > kWidth) {
        out += "\n";
        used = 0;
        col = kCol;
      }
      out += std::string(col - used, ' ') + word;
      used = col + word.size();
      first_word = false;
    }
    out += "\n";
  }
  out +=
      "\nEnvironment:\n"
      "  PORT                          listen on 0.0.0.0:$PORT unless -b is given\n"
      "  WEB_CONCURRENCY               worker count unless -w is given\n"
      "  HEARTH_CONFIG                 config file when -c is not given\n"
      "  HEARTH_RUNTIME_DIR            where the Python worker runtime lives\n"
      "\nExamples:\n"
      "  hearthd myproject.wsgi:application -b :8000 -w 4\n"
      "  hearthd -c /etc/hearth/hearth.toml --check-config\n"
      "  hearthd app:app --admin-bind 127.0.0.1:9000   (then curl :9000/metrics)\n"
      "\nExit status: 0 clean stop, 1 start-up failure, 2 configuration errors,\n"
      "3 the app could not be loaded. hearthctl controls a running hearthd.\n"
      "See docs/config.md for every config file key, docs/cli.md for both commands.\n";
  return out;
}

}  // namespace hearth::config
