#pragma once
// The typed, immutable configuration snapshot. Built once by the loader
// (defaults < file < environment < CLI), validated, then handed out as
// std::shared_ptr<const Config>. Nothing reads config from globals.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hearth::config {

using Millis = std::chrono::milliseconds;

// A listening address: "HOST:PORT", "[V6]:PORT", ":PORT" (all interfaces), or "unix:/path".
struct Bind {
  enum class Kind {
    Tcp,   // host + port (port 0 = pick a free one)
    Unix,  // path of a Unix stream socket
  };
  Kind kind = Kind::Tcp;
  std::string host;  // "127.0.0.1", "::1", "0.0.0.0"
  uint16_t port = 0;
  std::string path;  // Unix only
  std::string text;  // as written by the user, for messages
};

struct HttpLimits {
  Millis keepalive_timeout{5000};   // idle time between requests on a kept-alive connection
  Millis header_timeout{10000};     // the whole request head must arrive within this (else 408)
  Millis body_timeout{30000};       // longest gap between body reads (else 408)
  Millis send_timeout{60000};       // longest a write to the client may make no progress
  uint64_t max_header_size = 32 * 1024;    // request line + headers, bytes (else 431)
  uint32_t max_headers = 100;              // header fields (else 431)
  uint64_t max_body_size = 10 * 1024 * 1024;  // request body, bytes (else 413)
  uint32_t backlog = 1024;                 // listen() backlog of every bind
  uint64_t max_request_line = 0;           // request line, bytes (else 414); 0 = max_header_size bounds it
  uint64_t max_header_field_size = 0;      // one header field (name + value), bytes (else 431); 0 = max_header_size
  uint64_t body_buffer_size = 64 * 1024;   // body kept in memory up to this, then a temp file
  uint64_t spool_reuse_size = 64ull << 20;  // spilled bodies' temp files kept for reuse, their total length; 0 = none
  uint64_t response_buffer_size = 1024 * 1024;  // response buffered in memory up to this, then a temp file
  uint64_t max_buffered_memory = 64ull << 20;   // HTTP/2 request bodies held in memory, all connections; beyond: REFUSED_STREAM
  uint64_t max_response_spool = 1ull << 30;     // one response's temp file; beyond it the worker is paused (back-pressure)
  uint64_t max_total_response_spool = 4ull << 30;  // all responses' temp files together; beyond it, the same
  std::string server_header = "hearth";    // value of the Server header; empty = none
  bool h2_enabled = true;                       // HTTP/2: h2c prior knowledge (and h2 over TLS)
  uint32_t h2_max_concurrent_streams = 100;     // HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS
  uint32_t h2_initial_window_size = 1 << 20;    // HTTP/2 per-stream flow-control window, bytes
  bool via = false;                             // add "Via: 1.1 hearth" to responses proxied from the app
  uint32_t max_connections_per_ip = 0;          // open connections one client address may hold; 0 = no limit
  // [websocket] (docs/asgi.md): they act on the front door's upgraded connections.
  uint64_t ws_max_message_size = 1 << 20;       // a whole client message; beyond it: close 1009
  Millis ws_idle_timeout{60000};                // silence from the client; a ping at half of it, close 1001 at its end
};

// [compression] (docs/frontdoor.md): the app's responses compressed on the
// fly (nginx's `gzip on;`), negotiated from Accept-Encoding.
struct CompressionConfig {
  bool enabled = false;                              // off by default, as nginx
  std::vector<std::string> algorithms{"br", "gzip"};  // what may be offered; "br" and/or "gzip"
  uint64_t min_size = 1024;                          // a response with a smaller Content-Length is sent as is
  // Content types compressed ("text/*" = every text type); parameters such as charset are ignored.
  std::vector<std::string> types{"text/*",
                                 "application/json",
                                 "application/javascript",
                                 "application/xml",
                                 "application/xhtml+xml",
                                 "application/rss+xml",
                                 "application/atom+xml",
                                 "application/ld+json",
                                 "application/manifest+json",
                                 "image/svg+xml"};
  uint32_t level = 4;  // 1..11: gzip's level (at most 9) and brotli's quality
};

struct LogConfig {
  std::string level = "info";          // error|warn|info|debug
  std::string access_log = "-";        // "-" = stdout, "" = off, else a file path
  std::string access_log_format = "combined";  // combined|json
  std::string error_log = "-";         // the daemon's own log: "-" = stderr, else a file path (reopened on SIGUSR1)
  bool capture_output = false;         // the app's stdout goes to the error log too (its stderr always does)
};

// One warm-up request sent to every new worker before it takes traffic.
struct WarmupRequest {
  std::string method = "GET";
  std::string path = "/";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct HealthConfig {
  std::string path;                    // "" = no active checks
  Millis interval{10000};              // between checks of one worker
  Millis timeout{5000};                // a check slower than this failed
  uint32_t unhealthy_threshold = 3;    // consecutive failed checks that eject a worker
  uint32_t healthy_threshold = 1;      // consecutive good checks that (re)admit it
  uint32_t max_consecutive_failures = 5;  // passive: consecutive 5xx/timeouts from user traffic
};

struct WarmupConfig {
  std::vector<WarmupRequest> requests;  // sent in order to every new worker; any non-2xx/3xx = boot failure
};

struct KeepwarmConfig {
  Millis internal_interval{0};         // 0 = off; idle this long -> warm-up requests through each worker
  std::string url;                     // "" = off; the app's public URL, pinged so the host sees traffic
  Millis interval{600000};             // between public pings (default 10 minutes)
  Millis jitter{60000};                // +- random spread on interval; unset = a tenth of interval (loader)
  Millis timeout{10000};               // for one public ping
};

// One [[tls.certificates]] entry: the certificate served to clients whose TLS
// server name (SNI) is one of `hosts` (exact, or `*.example.com`); others get
// the top-level certfile (tls/sni.h).
struct TlsCertificate {
  std::vector<std::string> hosts;
  std::string certfile;                 // PEM chain, leaf first
  std::string keyfile;                  // "" = the key is in certfile
};

// TLS for the application listeners (issue 6). When certfile is set every
// `bind` serves HTTPS (as with gunicorn's --certfile); the admin listener stays plain.
struct TlsConfig {
  std::string certfile;                 // PEM certificate chain (leaf first); "" = TLS off
  std::string keyfile;                  // PEM private key; "" = the key is in certfile
  std::string min_version = "1.2";      // lowest protocol accepted: "1.2" or "1.3"
  std::string ciphers;                  // TLS 1.2 cipher list (OpenSSL syntax); "" = Mozilla intermediate
  Millis hsts_max_age{0};               // Strict-Transport-Security max-age on HTTPS responses; 0 = no header
  std::vector<Bind> redirect_http_from;  // plain listeners that answer 308 to https://host/...
  std::vector<TlsCertificate> certificates;  // per-host certificates chosen by SNI; the above is the fallback
  bool enabled() const { return !certfile.empty(); }
};

// One [[static]] mount: files under `dir` served at `prefix` by the daemon
// itself, without the app (docs/static.md). `--static PREFIX=DIR` adds one
// with the defaults below.
struct StaticMount {
  std::string prefix;                 // URL prefix, starts with '/': "/static/"
  std::string dir;                    // as written; relative = against `chdir` (else the daemon's cwd)
  std::string cache_control;          // Cache-Control on 200/206/304; "" = none
  bool allow_dotfiles = false;        // false: any path segment starting with '.' is 404
  std::string index = "index.html";   // served for a directory request; "" = directories are 404
  bool precompressed = true;          // serve x.br / x.gz next to x when Accept-Encoding allows
  bool fallthrough = false;           // a missing file goes to the app instead of 404
};

// One [[rate_limit]] rule (docs/frontdoor.md): requests under `prefix` (and
// of `methods`, if any) get `rate` per client address with `burst` extra at
// once; beyond that 429 with Retry-After, never reaching the app.
struct RateLimitRule {
  std::string prefix;                // URL prefix, starts with '/'; the longest matching rule wins
  std::string rate;                  // as written: "10/s", "600/m", "1000/h"
  double per_second = 0;             // `rate` parsed (validate() checks it is > 0)
  uint32_t burst = 0;                // requests beyond the rate accepted at once (nginx's burst, nodelay)
  std::string key = "client_ip";     // what a bucket is per: only "client_ip"
  std::vector<std::string> methods;  // upper-case; empty = every method
};

// One [[error_page]] (nginx's error_page): the body of the responses the
// daemon itself makes with one of `status` (never the app's responses).
struct ErrorPage {
  std::vector<int> status;  // 400..599: [502, 503, 504]
  std::string file;         // as written; relative = against `chdir` (else the daemon's cwd)
};

struct HooksConfig {
  std::string pre_fork;     // "module:function", run in the zygote before each fork
  std::string post_fork;    // run in each worker right after the fork
  std::string worker_exit;  // run in a worker as it exits
};

struct Config;

// One [[apps]] entry (docs/several-apps.md): a named app with its own pool,
// routed by Host and path prefix. `settings` is the whole Config this app's
// pool, health checks and proxy are built from: the top level (file,
// environment, CLI) with the block's per-app keys (app_block_keys()) over it.
// The single-app form is one entry named "app" with the default route
// (apps_of()).
struct AppConfig {
  std::string name;                        // unique, [a-z0-9_-]+
  std::vector<std::string> hosts;          // exact names or "*.example.com"; empty = no host (default group)
  std::string prefix;                      // "/blog"; "" = every path
  std::shared_ptr<const Config> settings;  // never null
};

// One [[upstreams]] entry (docs/several-apps.md): any HTTP/1.1 server behind
// hearthd, routed like an app. Exactly one of `servers` and `command`.
struct UpstreamConfig {
  std::string name;                         // unique across apps and upstreams, [a-z0-9_-]+
  std::vector<std::string> hosts;           // as AppConfig
  std::string prefix;                       // as AppConfig
  bool strip_prefix = false;                // forward the path without the prefix
  std::vector<std::string> servers;         // "127.0.0.1:3000", "[::1]:80", "unix:/run/x.sock"
  std::string command;                      // run with /bin/sh -c; "" = servers
  std::map<std::string, std::string> env;   // command: added to the daemon's environment
  std::string chdir;                        // command: working directory; "" = the daemon's
  std::string user;                         // command: run as this user (only when hearthd runs as root)
  bool socket = false;                      // command: a Unix socket in $SOCKET instead of a port in $PORT
  Millis timeout{30000};                    // response timeout (default: the top-level timeout)
  Millis connect_timeout{5000};             // connecting to a server
  Millis boot_timeout{120000};              // command: until ready (default: the top-level boot_timeout)
  Millis graceful_timeout{30000};           // command: TERM, then KILL after this (default: top level)
  std::string health_path;                  // "" = a TCP (or Unix) connect is the check
  Millis health_interval{10000};            // between active checks
  // Every key compared (a configuration reload replaces an upstream whose entry changed).
  bool operator==(const UpstreamConfig&) const = default;
};

struct Config {
  // Where the config came from ("" when none), for messages.
  std::string config_file;

  // --- the application ---
  std::string app;                      // "module:callable" or "module:factory()"
  std::string python = "/usr/bin/python3";  // interpreter, or a virtualenv's bin/python
  std::string chdir;                    // worker cwd; "" = daemon's cwd
  std::vector<std::string> pythonpath;  // prepended to sys.path
  bool preload = true;                  // import once in the zygote, fork workers
  std::string interface = "auto";       // wsgi | asgi | auto (docs/asgi.md)
  std::string lifespan = "auto";        // ASGI lifespan: auto | on | off
  std::map<std::string, std::string> env;  // extra environment for the zygote and workers

  // --- listeners ---
  std::vector<Bind> binds;              // default 127.0.0.1:8000
  std::optional<Bind> admin_bind;       // /healthz /readyz /metrics; unset = off
  std::string control_socket;           // hearthctl socket path; "" = off
  // With it set, GET /metrics on the admin listener needs "Authorization: Bearer <token>".
  std::string metrics_token;            // "" = /metrics open (a warning when admin_bind is not loopback)

  std::string pid_file;                 // hearthd's pid written here at start; "" = none
  std::string proc_name;                // the daemon's process name (comm, 15 bytes); "" = hearthd
  int32_t umask = -1;                   // set at start, inherited by the app; -1 = keep the inherited one

  // --- privileges (docs/security.md) ---
  std::string user;                     // started as root: drop to this user after binding
  std::string group;                    // "" = the user's primary group
  bool allow_root = false;              // started as root with no `user`: refuse unless true

  // --- workers and dispatch ---
  uint32_t workers = 0;                 // 0 in input = default 2 x cores + 1 (resolved by the loader)
  uint32_t threads = 1;                 // concurrent requests per worker
  uint32_t concurrency = 100;           // ASGI: concurrent requests per worker (slots on one event loop)
  uint32_t max_queue = 1024;            // requests waiting for a worker; beyond it 503
  Millis queue_timeout{30000};          // longest a request may wait for a worker (else 503)
  Millis timeout{30000};                // longest a worker may spend on one request (else 504 + kill)
  Millis graceful_timeout{30000};       // shutdown/reload: time for in-flight requests before KILL
  Millis boot_timeout{120000};          // import + worker start; separate from `timeout`
  std::vector<std::string> forwarded_allow_ips{"127.0.0.1", "::1"};  // "*" = all
  // PROXY protocol (docs/frontdoor.md): every `bind` expects a v1/v2 header
  // first, from one of proxy_allow_ips (IPs, CIDR ranges or "*").
  bool proxy_protocol = false;
  std::vector<std::string> proxy_allow_ips{"127.0.0.1"};
  std::string temp_dir;                 // request body spool dir; "" = $TMPDIR or /tmp
  // A request whose worker died before any response byte reached the client
  // is sent once more to another worker when its method is listed here.
  std::vector<std::string> retry_methods{"GET", "HEAD"};

  // --- lifecycle (issue 3) ---
  uint64_t max_requests = 0;            // recycle a worker after this many requests; 0 = never
  uint64_t max_requests_jitter = 0;     // + random 0..jitter per worker, so they do not recycle together
  bool dispatch_ahead = true;           // WSGI: hand a busy slot its next queued GET/HEAD/OPTIONS before its response ends
  uint64_t max_worker_memory = 0;       // recycle when a worker's private memory (USS) exceeds; 0 = off
  uint64_t memory_budget = 0;           // cap the worker count to fit zygote + workers; 0 = off
  uint64_t total_memory_budget = 0;     // daemon-wide: every app's tree together ([[apps]]); 0 = off
  uint32_t min_workers = 0;             // autoscaling floor; 0 = `workers`
  uint32_t max_workers = 0;             // autoscaling ceiling; 0 = `workers` (no autoscaling)
  Millis idle_timeout{60000};           // retire a worker idle this long (above min_workers)
  Millis memory_interval{5000};         // how often worker memory is sampled
  uint32_t ready_min = 1;               // /readyz is 200 when at least this many workers are ready

  HttpLimits http;
  CompressionConfig compression;
  LogConfig log;
  HealthConfig health;
  WarmupConfig warmup;
  KeepwarmConfig keepwarm;
  HooksConfig hooks;
  TlsConfig tls;
  std::vector<StaticMount> statics;     // [[static]] mounts, matched before the app (longest prefix wins)
  std::vector<RateLimitRule> rate_limits;  // [[rate_limit]] rules, checked before static mounts and the app
  std::vector<ErrorPage> error_pages;      // [[error_page]] bodies for the daemon's own 4xx/5xx answers

  // [[apps]] entries in file order; empty = the single-app form (top-level `app`).
  std::vector<AppConfig> apps;
  std::vector<UpstreamConfig> upstreams;  // [[upstreams]] (config/upstreams.h)

  // Resolved at load time: where the Python runtime (plugins/python) lives.
  std::string runtime_dir;
};

// The apps the daemon runs: cfg->apps, or for the single-app form one entry
// named kSingleAppName with the default route and `cfg` as its settings;
// none when there is no app but [[upstreams]].
inline constexpr const char* kSingleAppName = "app";
std::vector<AppConfig> apps_of(const std::shared_ptr<const Config>& cfg);

}  // namespace hearth::config
