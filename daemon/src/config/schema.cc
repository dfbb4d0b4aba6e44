#include "config/schema.h"

#include "config/units.h"

namespace hearth::config {
namespace {

// A Field's accessor: AT(http.max_body_size) is the address of that member.
#define AT(member) [](Config& c) { return &c.member; }

// {key, type, default_note, env, description, field}. One row per key; a section's
// row comes before its keys. Order is the order of the generated reference.
constexpr KeySpec kSchema[] = {
    // ---------------------------------------------------------------- top level
    {"app", "string", "(required)", "",
     "`module:callable` or `module:factory()`; the module a dotted path of identifiers (`myproject.wsgi:application`)",
     string_at(AT(app))},
    {"python", "string", "", "",
     "interpreter for the zygote and workers; a virtualenv's `bin/python` selects it",
     string_at(AT(python))},
    {"chdir", "string", "(the daemon's cwd)", "", "directory the workers change into before importing the app",
     string_at(AT(chdir))},
    {"pythonpath", "string or array", "", "", "prepended to `sys.path`; a string is split on commas",
     list_at(AT(pythonpath), parse_list_item, "directories as a string (\"a,b\") or an array of strings")},
    {"preload", "bool", "", "", "import the app once in the zygote and fork workers from it; `false`: each worker imports it",
     bool_at(AT(preload))},
    {"interface", "string", "", "",
     "`wsgi`, `asgi` or `auto`: a coroutine function (or an object whose `__call__` is one) is ASGI 3, anything "
     "else WSGI ([asgi.md](asgi.md)); `auto` needs `preload` to size the workers' slots",
     choice_at(AT(interface), parse_interface, "one of wsgi, asgi, auto")},
    {"lifespan", "string", "", "",
     "ASGI lifespan events: `on`, `off`, or `auto` (an app that raises on the lifespan scope does not support it)",
     choice_at(AT(lifespan), parse_lifespan, "one of auto, on, off")},
    {"env", "table of strings", "", "", "extra environment for the zygote and workers",
     custom()},
    {"bind", "address or array", "", "PORT",
     "where the app is served; `$PORT` makes it exactly `0.0.0.0:$PORT` (unless `-b` is given)",
     custom()},
    {"admin_bind", "address", "unset (off)", "", "listener for `/healthz`, `/readyz`, `/metrics`",
     custom()},
    {"control_socket", "string",
     "(`$XDG_RUNTIME_DIR/hearthd.sock`, else for root `/run/hearth/hearthd.sock`, else `/tmp/hearthd-UID.sock`)", "",
     "Unix socket for `hearthctl`",
     string_at(AT(control_socket))},
    {"certfile", "string", "(off)", "",
     "PEM certificate chain (leaf first, then intermediates, e.g. certbot's `fullchain.pem`); when set, "
     "**every `bind` serves HTTPS** (as with gunicorn). See [`[tls]`](#tls)",
     string_at(AT(tls.certfile))},
    {"keyfile", "string", "(the key is in `certfile`)", "",
     "unencrypted PEM private key for `certfile` (certbot's `privkey.pem`)",
     string_at(AT(tls.keyfile))},
    {"metrics_token", "string", "(none)", "HEARTH_METRICS_TOKEN",
     "`/metrics` answers 401 unless the request has `Authorization: Bearer TOKEN`; `/healthz` and `/readyz` stay open. "
     "Unset with a non-loopback `admin_bind`: a start-up warning ([security](security.md))",
     secret_at(AT(metrics_token))},
    {"user", "string", "(none)", "",
     "started as root: bind, open files, then run the daemon, zygote and workers as this user (name or uid). "
     "Not root: may only name the current user",
     string_at(AT(user))},
    {"group", "string", "(the user's group)", "", "with `user`: run as this group (name or gid)",
     string_at(AT(group))},
    {"allow_root", "bool", "", "HEARTH_ALLOW_ROOT",
     "started as root without `user` (or with `user = \"root\"`), hearthd refuses to start (exit 2) unless this is true",
     bool_at(AT(allow_root))},
    {"workers", "count", "(2 × CPUs + 1)", "WEB_CONCURRENCY",
     "worker processes; 0 = 2 × CPUs + 1, counting the CPUs hearthd may run on (its affinity mask, lowered by a "
     "cgroup v2 `cpu.max` quota)",
     at_least(count_at(AT(workers)), 1)},
    {"threads", "count", "", "", "concurrent requests per worker",
     at_least(count_at(AT(threads)), 1)},
    {"concurrency", "count", "", "",
     "ASGI workers: concurrent requests per worker, served as tasks on one event loop (replaces `threads`; "
     "at most 256)",
     at_least(count_at(AT(concurrency)), 1)},
    {"max_queue", "count", "", "", "requests that may wait for a worker; beyond it, 503",
     count_at(AT(max_queue))},
    {"queue_timeout", "duration", "", "", "longest wait for a worker; then 503",
     at_least(duration_at(AT(queue_timeout)), 1)},
    {"timeout", "duration", "", "", "longest a worker may spend on one request; then 504 and the worker is replaced",
     at_least(duration_at(AT(timeout)), 1)},
    {"graceful_timeout", "duration", "", "",
     "on stop/reload, time for in-flight requests before workers are killed",
     at_least(duration_at(AT(graceful_timeout)), 1)},
    {"boot_timeout", "duration", "", "", "time to import the app and start a worker",
     at_least(duration_at(AT(boot_timeout)), 1)},
    {"forwarded_allow_ips", "address list", "", "", "peers trusted to send `X-Forwarded-*`; `\"*\"` = any",
     list_at(AT(forwarded_allow_ips), parse_allow_ip_item, "IP addresses or CIDR ranges (\"127.0.0.1,10.0.0.0/8\"), or \"*\"")},
    {"proxy_protocol", "bool", "", "",
     "every `bind` expects a PROXY protocol header (v1 or v2, before TLS) from a peer in `proxy_allow_ips`; its "
     "address becomes `REMOTE_ADDR`, the access log's client and the rate-limit key. A connection without a valid "
     "header is closed ([frontdoor](frontdoor.md))",
     bool_at(AT(proxy_protocol))},
    {"proxy_allow_ips", "address list", "", "",
     "load balancers allowed to send the PROXY header (IPs, CIDR ranges, or `\"*\"`); other peers are refused",
     list_at(AT(proxy_allow_ips), parse_allow_ip_item, "IP addresses or CIDR ranges (\"127.0.0.1,10.0.0.0/8\"), or \"*\"")},
    {"temp_dir", "string", "(`$TMPDIR` or `/tmp`)", "", "where large request and response bodies are spooled",
     string_at(AT(temp_dir))},
    {"pid_file", "string", "(none)", "",
     "hearthd writes its pid here at start (before dropping root) and removes the file when it exits (gunicorn's `--pid`)",
     string_at(AT(pid_file))},
    {"proc_name", "string", "(hearthd)", "",
     "the daemon's process name as `ps -o comm` and `top` show it (15 bytes at most; gunicorn's `--name`); the "
     "zygote and the workers become `NAME:zygote` and `NAME:worker` (cut to 15 bytes)",
     string_at(AT(proc_name))},
    {"umask", "string", "(inherited)", "",
     "file-mode mask set at start and inherited by the app, in octal: `\"027\"` or `0o027`; `\"\"` = inherited",
     custom()},
    {"retry_methods", "method list", "", "",
     "a request whose worker died before any response byte reached the client is sent once more to another "
     "worker if its method is listed; otherwise 502. `[]` = never",
     list_at(AT(retry_methods), parse_http_method, "HTTP methods (\"GET,HEAD\"), or [] for none")},
    {"max_requests", "count", "(never)", "", "recycle a worker after this many requests",
     count64_at(AT(max_requests))},
    {"max_requests_jitter", "count", "", "",
     "add a random 0..N per worker, so that workers do not recycle together",
     count64_at(AT(max_requests_jitter))},
    {"dispatch_ahead", "bool", "", "",
     "WSGI workers: while requests wait for a worker, hand a busy slot its next one (GET, HEAD or OPTIONS "
     "without a body) as soon as its current request went out, so the worker finds it buffered when it ends "
     "the response instead of sleeping until the daemon has read that end; one at a time still, at most one "
     "queued ahead per slot. A request queued ahead is taken back for a worker that frees up first, and gets "
     "503 at `queue_timeout` as in the queue ([worker-protocol.md](worker-protocol.md#dispatch-ahead))",
     bool_at(AT(dispatch_ahead))},
    {"max_worker_memory", "size", "(off)", "", "recycle a worker whose private memory (USS) exceeds this",
     size_at(AT(max_worker_memory))},
    {"memory_budget", "size", "(off)", "",
     "cap the worker count so that the zygote and all workers fit (see [small-hosts.md](small-hosts.md))",
     size_at(AT(memory_budget))},
    {"total_memory_budget", "size", "(off)", "",
     "one budget for every app together (`[[apps]]`): each app's zygotes and workers are admitted against what "
     "the other apps leave, and its own `memory_budget` (see [several-apps.md](several-apps.md#memory))",
     size_at(AT(total_memory_budget))},
    {"min_workers", "count", "(= `workers`)", "", "autoscaling floor",
     count_at(AT(min_workers))},
    {"max_workers", "count", "(= `workers`)", "", "autoscaling ceiling (both 0: no autoscaling)",
     count_at(AT(max_workers))},
    {"idle_timeout", "duration", "", "", "retire a worker idle this long, never below `min_workers`",
     at_least(duration_at(AT(idle_timeout)), 1)},
    {"memory_interval", "duration", "", "", "how often worker memory is sampled",
     at_least(duration_at(AT(memory_interval)), 1)},
    {"ready_min", "count", "", "", "`/readyz` is 200 once at least this many workers are ready",
     count_at(AT(ready_min))},
    {"static", "array of tables", "none", "",
     "static-file mounts (`[[static]]`, or `--static PREFIX=DIR`) served by the daemon without the app; keys in "
     "[`[[static]]`](#static) below, behaviour in [static.md](static.md)",
     custom()},
    {"rate_limit", "array of tables", "none", "",
     "request rate limits per client address (`[[rate_limit]]`, nginx's `limit_req`): 429 with `Retry-After` "
     "beyond the burst, never reaching the app; keys in [`[[rate_limit]]`](#rate_limit) below, behaviour in "
     "[frontdoor.md](frontdoor.md)",
     custom()},
    {"error_page", "array of tables", "none", "",
     "bodies for the responses the daemon itself makes (`[[error_page]]` with `status = [502, 503, 504]` and "
     "`file = \"...\"`, nginx's `error_page`): queue full, timeouts, a worker that died, 413, 429, and other 4xx "
     "it answers itself; never the app's responses. Read at start and on reload ([frontdoor.md](frontdoor.md))",
     custom()},

    {"apps", "array of tables", "none", "",
     "several apps behind one hearthd (`[[apps]]`), each with its own pool, routed by `hosts` and `prefix`; not "
     "with a top-level `app`. Keys in [`[[apps]]`](#apps) below, behaviour in [several-apps.md](several-apps.md)",
     custom()},
    {"upstreams", "array of tables", "none", "",
     "any HTTP/1.1 server behind hearthd (`[[upstreams]]`): `servers` to proxy to, or a `command` hearthd starts "
     "and supervises, routed like an app. Keys in [`[[upstreams]]`](#upstreams) below, behaviour in "
     "[several-apps.md](several-apps.md#upstreams)",
     custom()},

    // ---------------------------------------------------------------- [http]
    {"http", "section", "", "", "The front door: client timeouts, request limits, buffering and HTTP/2."},
    {"http.keepalive_timeout", "duration", "", "", "idle time between requests on a kept-alive connection",
     at_least(duration_at(AT(http.keepalive_timeout)), 1)},
    {"http.header_timeout", "duration", "", "", "the whole request head must arrive within this; else 408",
     at_least(duration_at(AT(http.header_timeout)), 1)},
    {"http.body_timeout", "duration", "", "", "longest gap between body reads; else 408",
     at_least(duration_at(AT(http.body_timeout)), 1)},
    {"http.send_timeout", "duration", "", "", "longest a write to the client may make no progress",
     at_least(duration_at(AT(http.send_timeout)), 1)},
    {"http.max_header_size", "size", "", "",
     "request line + headers; else 431. Also the most a chunked body's chunk-size line (with extensions) or "
     "trailer section may take; else 400. At least 1KiB",
     size_at(AT(http.max_header_size))},
    {"http.max_headers", "count", "", "", "header fields per request; else 431",
     at_least(count_at(AT(http.max_headers)), 1)},
    {"http.backlog", "count", "", "", "`listen()` backlog of every `bind` (capped by the kernel's `somaxconn`)",
     count_at(AT(http.backlog))},
    {"http.max_request_line", "size", "(max_header_size)", "",
     "HTTP/1.1 request line (method, target, version); else 414. 0 = only `max_header_size` bounds it",
     size_at(AT(http.max_request_line))},
    {"http.max_header_field_size", "size", "(max_header_size)", "",
     "one header field (name and value); else 431 (HTTP/2: the stream is refused). 0 = only `max_header_size` "
     "bounds it",
     size_at(AT(http.max_header_field_size))},
    {"http.max_body_size", "size", "", "", "request body; else 413",
     size_at(AT(http.max_body_size))},
    {"http.body_buffer_size", "size", "", "",
     "request bodies up to this stay in memory, larger ones go to `temp_dir`",
     size_at(AT(http.body_buffer_size))},
    {"http.spool_reuse_size", "size", "", "",
     "the temp files of request bodies over `body_buffer_size` are reused by later bodies (overwritten in place: "
     "no file creation, block allocation or truncation per request) while the free ones' total length stays under "
     "this; a free file is closed after 5 s unused; 0: a fresh temp file per body",
     size_at(AT(http.spool_reuse_size))},
    {"http.response_buffer_size", "size", "", "",
     "responses are buffered in memory up to this, then in a temp file; a streamed response (server-sent "
     "events, `X-Accel-Buffering: no`, an ASGI body with `more_body`) only in memory: beyond this the worker "
     "waits for the client",
     size_at(AT(http.response_buffer_size))},
    {"http.max_buffered_memory", "size", "", "",
     "HTTP/2 request bodies held in memory, all connections together; a new upload beyond it is refused with "
     "REFUSED_STREAM (see security.md)",
     size_at(AT(http.max_buffered_memory))},
    {"http.max_response_spool", "size", "", "",
     "the most one response may hold in its temp file for a slow client; beyond it the worker is paused until "
     "the client reads (as nginx's `proxy_max_temp_file_size`)",
     size_at(AT(http.max_response_spool))},
    {"http.max_total_response_spool", "size", "", "",
     "the most all responses' temp files may hold together; beyond it, workers are paused the same way",
     size_at(AT(http.max_total_response_spool))},
    {"http.server_header", "string", "", "", "the `Server` header; `\"\"` sends none",
     string_at(AT(http.server_header))},
    {"http.http2", "bool", "", "",
     "serve HTTP/2: to clients that open with the h2c prior-knowledge preface, and over TLS to clients that "
     "choose `h2` by ALPN",
     bool_at(AT(http.h2_enabled))},
    {"http.http2_max_concurrent_streams", "count", "", "", "SETTINGS_MAX_CONCURRENT_STREAMS per HTTP/2 connection",
     count_at(AT(http.h2_max_concurrent_streams))},
    {"http.http2_initial_window_size", "count", "", "",
     "per-stream flow-control window (bytes); at most 2147483647 (2^31-1, RFC 9113)",
     count_at(AT(http.h2_initial_window_size))},
    {"http.via", "bool", "", "", "add `Via: 1.1 hearth` to responses proxied from the app (not to static files)",
     bool_at(AT(http.via))},
    {"http.max_connections_per_ip", "count", "(no limit)", "",
     "open connections one client address may hold (nginx's `limit_conn`); beyond it a new connection is closed "
     "at once. The address is the PROXY protocol's when `proxy_protocol` is on",
     count_at(AT(http.max_connections_per_ip))},

    // ---------------------------------------------------------------- [websocket]
    {"websocket", "section", "", "",
     "WebSockets (RFC 6455 over HTTP/1.1 `Upgrade`) for ASGI apps: hearthd speaks the frames, the app gets "
     "`websocket.*` events. See [asgi.md](asgi.md#websockets)."},
    {"websocket.max_message_size", "size", "", "",
     "the largest message a client may send (all its fragments together); beyond it the connection is closed "
     "with 1009 (uvicorn's `--ws-max-size`). Also the largest an `[[upstreams]]` server may send through a "
     "WebSocket; beyond it the client is closed with 1011",
     at_least(size_at(AT(http.ws_max_message_size)), 1)},
    {"websocket.idle_timeout", "duration", "(0 = off)", "",
     "silence from a client before hearthd pings it (after half of it) and closes the connection with 1001 (at "
     "its end); a client that answers pings stays open (uvicorn's `--ws-ping-interval` 20s + "
     "`--ws-ping-timeout` 20s close a dead peer after about 40s)",
     duration_at(AT(http.ws_idle_timeout))},

    // ---------------------------------------------------------------- [compression]
    {"compression", "section", "", "",
     "Dynamic compression of the app's responses (nginx's `gzip on;`), negotiated from `Accept-Encoding` with "
     "q-values, with `Vary: Accept-Encoding`; never for a response with `Content-Encoding`, a 206, "
     "`Cache-Control: no-transform`, or a `Content-Length` below `min_size`; a strong `ETag` becomes weak. "
     "HTTP/1.1 and HTTP/2; streamed responses are flushed per chunk. `[[static]]` files use `precompressed` "
     "instead. See [frontdoor.md](frontdoor.md#compression)."},
    {"compression.enabled", "bool", "", "", "compress responses (off by default, as nginx)",
     bool_at(AT(compression.enabled))},
    {"compression.algorithms", "string or array", "", "",
     "offered codings: `\"br\"` (brotli) and/or `\"gzip\"`; the client's q-values choose, brotli on a tie",
     list_at(AT(compression.algorithms), parse_compression_algorithm,
             "\"br\" and/or \"gzip\" (an array, or a comma-separated string)")},
    {"compression.min_size", "size", "", "",
     "responses whose `Content-Length` is smaller are sent as they are (streamed ones, without a length, are "
     "compressed)",
     size_at(AT(compression.min_size))},
    {"compression.types", "array", "", "",
     "media types compressed; `\"text/*\"` matches every text type; parameters (`; charset=...`) are ignored",
     list_at(AT(compression.types), parse_media_type, "media types such as \"text/*\" or \"application/json\"")},
    {"compression.level", "count", "", "", "1..11: gzip's level (capped at 9) and brotli's quality",
     count_at(AT(compression.level))},

    // ---------------------------------------------------------------- [log]
    {"log", "section", "", "", "The daemon's own log (the error log) and the access log."},
    {"log.level", "string", "", "",
     "`error`, `warn`, `info` or `debug` (case-insensitive; gunicorn's `warning` and `critical` mean `warn` and "
     "`error`)",
     choice_at(AT(log.level), parse_log_level, "one of error, warn, info, debug")},
    {"log.access_log", "string", "", "", "a file path, `-` for stdout, `\"\"` for none",
     string_at(AT(log.access_log))},
    {"log.access_log_format", "string", "", "", "`combined` or `json`",
     choice_at(AT(log.access_log_format), parse_access_log_format, "combined or json")},
    {"log.error_log", "string", "", "",
     "the daemon's own log: `-` for stderr, or a file path (opened before the privilege drop, reopened on "
     "`SIGUSR1`; its directory must be writable by `user` for the reopen). The app's stderr goes there too",
     string_at(AT(log.error_log))},
    {"log.capture_output", "bool", "", "", "the app's stdout goes to the error log as well (gunicorn's `--capture-output`)",
     bool_at(AT(log.capture_output))},

    // ---------------------------------------------------------------- [health]
    {"health", "section", "", "",
     "Active checks of each worker (a GET to `path`) and passive ejection on consecutive failures. "
     "See [architecture.md](architecture.md)."},
    {"health.path", "string", "(no active checks)", "",
     "active checks: a GET to this path (must start with `/`) on each worker",
     string_at(AT(health.path))},
    {"health.interval", "duration", "", "", "between two checks of one worker",
     at_least(duration_at(AT(health.interval)), 1)},
    {"health.timeout", "duration", "", "", "a slower check counts as failed",
     at_least(duration_at(AT(health.timeout)), 1)},
    {"health.unhealthy_threshold", "count", "", "",
     "consecutive failed checks that take a worker out of rotation (at least 1 when `path` is set)",
     count_at(AT(health.unhealthy_threshold))},
    {"health.healthy_threshold", "count", "", "",
     "consecutive good checks that put it back (at least 1 when `path` is set)",
     count_at(AT(health.healthy_threshold))},
    {"health.max_consecutive_failures", "count", "", "",
     "passive: consecutive 5xx responses or timeouts from real traffic that take a worker out",
     count_at(AT(health.max_consecutive_failures))},

    // ---------------------------------------------------------------- [warmup]
    {"warmup", "section", "", "",
     "Requests sent in order to every new worker before it takes traffic; a response other than 2xx/3xx is a "
     "boot failure. Each `[[warmup.requests]]` entry has `method` (default `\"GET\"`), `path` (default `\"/\"`), "
     "`headers` (a table of strings, or `[[\"Name\", \"value\"], ...]` to keep order) and `body`; unknown keys in "
     "an entry are errors (`warmup.requests[0].metod`)."},
    {"warmup.requests", "array of tables", "none", "", "the warm-up requests, in order",
     custom()},

    // ---------------------------------------------------------------- [keepwarm]
    {"keepwarm", "section", "", "",
     "Keeping a rarely used app warm, inside (idle workers) and outside (hosts that spin down idle apps). "
     "See [keepwarm.md](keepwarm.md)."},
    {"keepwarm.internal_interval", "duration", "(off)", "",
     "when a worker has seen no request this long, send it the warm-up requests",
     duration_at(AT(keepwarm.internal_interval))},
    {"keepwarm.url", "string", "(off)", "",
     "the app's public `http://` or `https://` URL, requested now and then so the host sees traffic",
     string_at(AT(keepwarm.url))},
    {"keepwarm.interval", "duration", "", "", "between two requests to `url`",
     at_least(duration_at(AT(keepwarm.interval)), 1)},
    {"keepwarm.jitter", "duration", "(a tenth of `interval`)", "", "random spread (±) on `interval`; at most `interval`",
     duration_at(AT(keepwarm.jitter))},
    {"keepwarm.timeout", "duration", "", "", "for one request to `url`",
     at_least(duration_at(AT(keepwarm.timeout)), 1)},

    // ---------------------------------------------------------------- [hooks]
    {"hooks", "section", "", "",
     "Python functions given as `module:function` (no parentheses), each called with the worker id (an int); "
     "`\"\"` = none. See [hooks.md](hooks.md)."},
    {"hooks.pre_fork", "string", "", "", "in the zygote, before each fork",
     string_at(AT(hooks.pre_fork))},
    {"hooks.post_fork", "string", "", "", "in each worker, right after the fork",
     string_at(AT(hooks.post_fork))},
    {"hooks.worker_exit", "string", "", "",
     "in a worker, as it exits gracefully (SIGTERM); not on a crash, SIGKILL or daemon loss",
     string_at(AT(hooks.worker_exit))},

    // ---------------------------------------------------------------- [tls]
    {"tls", "section", "", "",
     "HTTPS settings; HTTPS itself is on when `certfile` is set. `hearthctl reload` (or SIGHUP) re-reads the "
     "certificate and key for new connections. See [TLS](#https-tls) below."},
    {"tls.min_version", "string", "", "",
     "oldest protocol accepted: `\"1.2\"` or `\"1.3\"` (`\"TLSv1.3\"` and the bare float `1.3` also work)",
     custom()},
    {"tls.ciphers", "string", "(Mozilla intermediate)", "", "TLS 1.2 cipher list in OpenSSL syntax",
     string_at(AT(tls.ciphers))},
    {"tls.hsts_max_age", "duration", "(off)", "",
     "send `Strict-Transport-Security: max-age=N` on every HTTPS response, unless the app set the header itself; "
     "never on plain HTTP",
     duration_at(AT(tls.hsts_max_age))},
    {"tls.redirect_http_from", "address or array", "", "",
     "plain-HTTP listeners that answer every request with `308 Permanent Redirect` to "
     "`https://HOST[:PORT]/same/path?query`; they never reach the app",
     custom()},
    {"tls.certificates", "array of tables", "none", "",
     "more certificates, chosen by the name the client asks for (SNI): each `[[tls.certificates]]` has `hosts` "
     "(exact names and `*.example.com` wildcards), `certfile` and `keyfile` (optional, as above). A client "
     "asking for another name, or none, gets the top-level `certfile`, which must be set. Reloaded with it",
     custom()},
};

#undef AT

// The keys of one [[static]] entry; the default is written in default_note.
constexpr KeySpec kStaticEntry[] = {
    {"prefix", "string", "(required)", "",
     "URL prefix starting with `/`, such as `\"/static/\"`; the longest matching prefix wins"},
    {"dir", "string", "(required)", "",
     "the directory served; a relative path is taken from `chdir` (else the daemon's cwd). Must exist"},
    {"cache_control", "string", "`\"\"` (none)", "",
     "`Cache-Control` on 200, 206 and 304 answers, such as `\"public, max-age=604800\"`"},
    {"allow_dotfiles", "bool", "`false`", "", "`false`: a path with a segment starting with `.` is 404"},
    {"index", "string", "`\"index.html\"`", "",
     "file served for a directory request; `\"\"` = none. There are no directory listings"},
    {"precompressed", "bool", "`true`", "",
     "serve `FILE.br` or `FILE.gz` (next to `FILE`) when `Accept-Encoding` allows it, with `Vary: Accept-Encoding`"},
    {"fallthrough", "bool", "`false`", "", "a missing file goes to the app instead of a 404"},
};

// The keys of one [[rate_limit]] entry.
constexpr KeySpec kRateLimitEntry[] = {
    {"prefix", "string", "(required)", "",
     "URL prefix starting with `/` (`\"/api/\"`, `\"/login\"`), compared with the decoded path as a plain string "
     "prefix; when several rules match, the longest prefix wins"},
    {"rate", "string", "(required)", "", "`\"10/s\"`, `\"600/m\"` or `\"1000/h\"` per client address"},
    {"burst", "count", "`0`", "",
     "requests beyond the rate accepted at once (nginx's `burst` with `nodelay`): a client may send `burst + 1` "
     "requests at once, then `rate`"},
    {"key", "string", "`\"client_ip\"`", "",
     "what a limit counts per: `\"client_ip\"`, the PROXY protocol address, or the last `X-Forwarded-For` hop "
     "from a peer in `forwarded_allow_ips`, else the TCP peer"},
    {"methods", "method list", "(all)", "", "only requests with these methods count and are limited"},
};

}  // namespace

std::span<const KeySpec> static_entry_schema() { return kStaticEntry; }

std::span<const KeySpec> rate_limit_entry_schema() { return kRateLimitEntry; }

std::span<const KeySpec> schema() { return kSchema; }

const KeySpec* find_key(std::string_view key) {
  for (const auto& k : kSchema) {
    if (k.key == key) return &k;
  }
  return nullptr;
}

bool is_section_key(std::string_view key) {
  const KeySpec* k = find_key(key);
  return k && k->type == "section";
}

}  // namespace hearth::config
