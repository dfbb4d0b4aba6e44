#!/usr/bin/python3
"""Hearth's benchmark against its peers: `make bench`, or `bench/run.py --quick` for a smoke test.

For each app, every stack is first started alone to measure its idle memory after a warm-up,
then all stacks are started together and loaded in interleaved rounds (A B C ... A B C ...)
with the same wrk settings; the median of the rounds is reported, with ratios to the best peer.
Stdlib only. Every process started is stopped by PID in a finally block.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import asgi_rows  # noqa: E402
import idleconns  # noqa: E402
import instructions  # noqa: E402
import loadgen  # noqa: E402
import procs  # noqa: E402
import report  # noqa: E402
import stacks  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
POST_SCRIPT = os.path.join(HERE, "post_1mb.lua")

# name -> (module in bench/apps, title, wrk script or None)
APPS = {
    "hello": ("hello", "Raw WSGI hello (13-byte body)", None),
    "flask": ("flask_hello", "Flask hello", None),
    "json": ("flask_json", "Flask JSON (small dict -> jsonify)", None),
    "big": ("big", "100 KB response (raw WSGI, 102,400 bytes)", None),
    "upload": ("upload", "1 MiB POST upload (raw WSGI reads the body, returns its length)", POST_SCRIPT),
}

# ASGI rows, against the ASGI stacks (stacks.ASGI_STACKS), all from bench/apps/fastapi_app.py.
# "fastapi" is an app row like the WSGI ones (wrk); "ws" and "sse" have their own clients (asgi_rows.py).
ASGI_APPS = {
    "fastapi": ("fastapi_app", "FastAPI JSON endpoint (small dict, ASGI)", None),
}
ASGI_ROWS = ("ws", "sse")
ALL_APPS = list(APPS) + list(ASGI_APPS) + list(ASGI_ROWS)


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def probe_keepalive(url):
    """Send two requests on one connection: 'keeps' if both are answered, else 'closes'."""
    host, port = re.match(r"http://([^:/]+):(\d+)/", url).groups()
    req = f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    answered = 0
    conn_close = False
    status = ""
    try:
        with socket.create_connection((host, int(port)), timeout=5) as s:
            for _ in range(2):
                s.sendall(req)
                buf = b""
                while b"\r\n\r\n" not in buf:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    buf += chunk
                if b"\r\n\r\n" not in buf:
                    break
                head, body = buf.split(b"\r\n\r\n", 1)
                m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                if re.search(rb"(?im)^connection:\s*close", head):
                    conn_close = True
                if m:
                    need = int(m.group(1)) - len(body)
                    while need > 0:
                        chunk = s.recv(min(need, 65536))
                        if not chunk:
                            break
                        need -= len(chunk)
                answered += 1
                status = head.split(b"\r\n", 1)[0].decode(errors="replace")
    except OSError as e:
        if not answered:
            return f"probe failed: {e}"
    if answered == 2:
        return f"keeps ({status.split(' ')[0]})"
    return f"closes after each response ({status.split(' ')[0]}" + \
        (", sends `Connection: close`)" if conn_close else ", without a `Connection: close` header)")


def start_stack(name, module, workdir, table=None):
    start, _ = (table or stacks.STACKS)[name]
    os.makedirs(workdir, exist_ok=True)
    server = start(module, workdir)
    try:
        server.wait_ready()
    except BaseException:
        stop_server(server)
        raise
    return server


def stop_server(server):
    left = server.stop()
    if left:
        log(f"WARNING: {server.name}: PIDs still alive after stop: {left}")


def warm(server, seconds, script):
    if seconds > 0:
        loadgen.run_wrk(server.url, seconds, script=script)


def measure_idle(server):
    time.sleep(1.0)
    pids = server.pids()
    rollup = {p: procs.pss_kib(p) for p in pids}
    uss = sum(_uss_kib(p) for p in pids)
    return {"pss_kib": sum(rollup.values()), "uss_kib": uss, "nprocs": len(pids),
            "procs": [(p, procs.comm(p), procs.rss_kib(p), rollup[p]) for p in pids]}


def _uss_kib(pid):
    total = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    total += int(line.split()[1])
    except OSError:
        pass
    return total


def load_round(server, duration, script, runner="wrk"):
    pids = server.pids()
    before = procs.cpu_ticks(pids)
    if runner == "wrk":
        res = loadgen.run_wrk(server.url, duration, script=script)
    else:
        res = loadgen.run_h2load(server.url, duration)
    after = procs.cpu_ticks(server.pids())
    cpu = procs.cpu_seconds_between(before, after)
    res["cpu_s"] = cpu
    res["cpu_us_per_req"] = (cpu / res["requests"] * 1e6) if res.get("requests") else None
    res.pop("raw", None)
    return res


def median_of(rounds):
    out = {"rounds_rps": [r["rps"] for r in rounds], "rounds_p99": [r.get("p99") for r in rounds]}
    for key in ("rps", "p50", "p99", "mean", "max", "cpu_us_per_req"):
        vals = [r[key] for r in rounds if r.get(key) is not None]
        out[key] = statistics.median(vals) if vals else None
    out["errors"] = sum(r["non2xx"] + r["sock_errors"] for r in rounds)
    out["non2xx"] = sum(r["non2xx"] for r in rounds)
    out["sock_errors"] = sum(r["sock_errors"] for r in rounds)
    out["requests"] = sum(r["requests"] or 0 for r in rounds)
    kinds = {}
    for r in rounds:
        for k, v in r.get("sock_kinds", {}).items():
            kinds[k] = kinds.get(k, 0) + v
    out["sock_detail"] = ", ".join(f"{k} {v:,}" for k, v in kinds.items() if v)
    return out


def bench_app(app_key, names, args, root, results, table=None):
    table = table or stacks.STACKS
    module, title, script = APPS[app_key] if table is stacks.STACKS else ASGI_APPS[app_key]
    log(f"app {app_key}: {title}")
    rows = {n: {"label": table[n][1]} for n in names}

    # Phase 1: idle memory, each stack alone (PSS splits shared pages among every process
    # mapping them, so a neighbour stack would lower the figure).
    for n in names:
        workdir = os.path.join(root, app_key, n + "-mem")
        try:
            server = start_stack(n, module, workdir, table)
        except Exception as e:  # a peer that cannot start is reported, not fatal
            rows[n]["error"] = str(e).splitlines()[0]
            log(f"  {n}: {rows[n]['error']}")
            continue
        try:
            warm(server, args.warmup, script)
            rows[n].update(measure_idle(server))
            if n == "hearthd":
                rows[n]["daemon_rss_kib"] = procs.rss_kib(server.main_pid("hearthd"))
            rows[n]["commands"] = server.commands
            rows[n]["configs"] = server.configs
            log(f"  {n}: idle tree PSS {rows[n]['pss_kib'] / 1024:.1f} MiB, {rows[n]['nprocs']} processes")
        except Exception as e:
            rows[n]["error"] = str(e).splitlines()[0]
            log(f"  {n}: {rows[n]['error']}")
        finally:
            stop_server(server)

    # Phase 2: all stacks up together, interleaved rounds.
    live = {}
    try:
        for n in names:
            if "error" in rows[n]:
                continue
            try:
                live[n] = start_stack(n, module, os.path.join(root, app_key, n), table)
            except Exception as e:
                rows[n]["error"] = str(e).splitlines()[0]
                log(f"  {n}: {rows[n]['error']}")
        for n, server in live.items():
            if script is None:
                rows[n]["keepalive"] = probe_keepalive(server.url)
            try:
                warm(server, args.warmup, script)
            except Exception as e:
                rows[n]["error"] = "warm-up: " + str(e).splitlines()[0]
        rounds = {n: [] for n in live}
        for r in range(args.rounds):
            for n, server in live.items():
                if "error" in rows[n]:
                    continue
                try:
                    res = load_round(server, args.duration, script)
                except Exception as e:
                    rows[n]["error"] = f"round {r + 1}: " + str(e).splitlines()[0]
                    log(f"  {n}: {rows[n]['error']}")
                    continue
                rounds[n].append(res)
                log(f"  round {r + 1}/{args.rounds} {n}: {res['rps']:.0f} req/s, p99 {res['p99']} ms, "
                    f"errors {res['non2xx'] + res['sock_errors']}")
        for n in live:
            if rounds[n]:
                rows[n].update(median_of(rounds[n]))
    finally:
        for server in live.values():
            stop_server(server)
    results["apps"][app_key] = {"title": title, "rows": rows}


def bench_static_and_h2(args, root, results):
    """Static 4 KB file (nginx `root` vs hearthd `--static`, wrk), the same file over HTTPS with
    keep-alive, and HTTP/2 (h2load -> nginx h2c -> uWSGI, and hearthd h2c)."""
    workdir = os.path.join(root, "extras")
    os.makedirs(os.path.join(workdir, "www"), exist_ok=True)
    with open(os.path.join(workdir, "www", "4k.bin"), "wb") as f:
        f.write(b"s" * 4096)
    # An hour old, as a deployed file (hearthd keeps a small file in memory once it is a second old).
    os.utime(os.path.join(workdir, "www", "4k.bin"), (time.time() - 3600, time.time() - 3600))
    out = {}
    servers = []
    try:
        if shutil.which("nginx"):
            port = stacks.free_port()
            s = stacks.Server("nginx-static", f"http://127.0.0.1:{port}/4k.bin", os.path.join(workdir, "static"))
            loc = f"""        location / {{
            root {os.path.join(workdir, 'www')};
        }}"""
            stacks._start_nginx(s, stacks._nginx_conf(f"127.0.0.1:{port}", loc))
            servers.append(s)
            s.wait_ready(path="")
        if os.access(stacks.HEARTHD, os.X_OK):
            # The same file from a [[static]] mount: served by the daemon, sendfile, no worker involved.
            d = stacks.start_hearthd("hello", os.path.join(workdir, "hearthd-static"),
                                     extra=["--static", f"/static/={os.path.join(workdir, 'www')}"])
            d.name = "hearthd-static"
            d.url += "static/4k.bin"
            servers.append(d)
            d.wait_ready(path="")
        if shutil.which("openssl"):
            _start_static_https(workdir, servers)
        if shutil.which("uwsgi"):
            port = stacks.free_port()
            h = stacks.Server("nginx-h2-uwsgi", f"http://127.0.0.1:{port}/", os.path.join(workdir, "h2"))
            sock = os.path.join(h.workdir, "uwsgi.sock")
            h.spawn("uwsgi", stacks._uwsgi_argv("hello", h.workdir, ["--socket", sock, "--chmod-socket=660"]))
            loc = f"""        location / {{
            include /etc/nginx/uwsgi_params;
            uwsgi_pass unix:{sock};
        }}"""
            # nginx ends an HTTP/2 connection with GOAWAY after keepalive_requests (default 1000)
            # requests, and h2load does not reconnect: with the default the row would measure
            # 64 x 1000 requests spread over the whole duration, so this row lifts the cap.
            stacks._start_nginx(h, stacks._nginx_conf(f"127.0.0.1:{port} http2", loc,
                                                      extra_http="    keepalive_requests 100000000;\n"))
            servers.append(h)
            _wait_h2(h)
        # hearthd gets the HTTP/2 row only if it answers h2c with prior knowledge.
        if os.access(stacks.HEARTHD, os.X_OK):
            d = stacks.start_hearthd("hello", os.path.join(workdir, "hearthd-h2"))
            servers.append(d)
            d.wait_ready()
            if _speaks_h2(d.url):
                d.name = "hearthd-h2"
            else:
                servers.remove(d)
                stop_server(d)
        for s in servers:
            runner = "h2load" if s.name.endswith("-h2") or "-h2-" in s.name else "wrk"
            if runner == "wrk":
                warm(s, args.warmup, None)
            else:
                loadgen.run_h2load(s.url, max(1, int(args.warmup)))
        rounds = {s.name: [] for s in servers}
        for r in range(args.rounds):
            for s in servers:
                runner = "h2load" if s.name.endswith("-h2") or "-h2-" in s.name else "wrk"
                res = load_round(s, args.duration, None, runner=runner)
                rounds[s.name].append(res)
                log(f"  round {r + 1}/{args.rounds} {s.name}: {res['rps']:.0f} req/s")
        for s in servers:
            out[s.name] = median_of(rounds[s.name])
            out[s.name]["commands"] = s.commands
            out[s.name]["configs"] = s.configs
            if s.name.endswith("-https"):
                out[s.name]["tls"] = s.tls
    finally:
        for s in servers:
            stop_server(s)
    results["static_h2"] = out


def _start_static_https(workdir, servers):
    """The 4 KB file over HTTPS with keep-alive (issue 14): nginx (`listen ... ssl`, one worker) and
    hearthd (`--certfile`, a `--static` mount), one self-signed EC P-256 certificate made now for
    both, TLS 1.3 only on both, cipher suites left at their defaults (the client, wrk's OpenSSL,
    then gets TLS_AES_256_GCM_SHA384 from either; what was negotiated is recorded per row).
    nginx gets `keepalive_requests 100000000` here: with its default (1000) wrk would pay a full
    handshake every 1,000 requests on nginx and never on hearthd (which has no such cap).
    Each server is appended to `servers` as soon as it is started (the caller stops them), with
    .tls set once it answers."""
    cert, key = stacks.make_tls_cert(os.path.join(workdir, "tls"))
    if shutil.which("nginx"):
        port = stacks.free_port()
        s = stacks.Server("nginx-static-https", f"https://127.0.0.1:{port}/4k.bin",
                          os.path.join(workdir, "static-https"))
        loc = f"""        location / {{
            root {os.path.join(workdir, 'www')};
        }}"""
        tls = (f"    ssl_certificate {cert};\n    ssl_certificate_key {key};\n"
               "    ssl_protocols TLSv1.3;\n    keepalive_requests 100000000;\n")
        stacks._start_nginx(s, stacks._nginx_conf(f"127.0.0.1:{port} ssl", loc, extra_http=tls))
        servers.append(s)
        s.wait_ready(path="")
        s.tls = stacks.tls_negotiated(port)
    if os.access(stacks.HEARTHD, os.X_OK):
        d = stacks.start_hearthd("hello", os.path.join(workdir, "hearthd-static-https"),
                                 extra=["--static", f"/static/={os.path.join(workdir, 'www')}",
                                        "--certfile", cert, "--keyfile", key],
                                 conf_extra='[tls]\nmin_version = "1.3"\n', scheme="https")
        d.name = "hearthd-static-https"
        d.url += "static/4k.bin"
        servers.append(d)
        d.wait_ready(path="")
        d.tls = stacks.tls_negotiated(int(d.url.split(":")[2].split("/")[0]))


def _speaks_h2(url):
    try:
        r = subprocess.run(["h2load", "-n", "1", "-c", "1", url], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return bool(re.search(r"\b1 succeeded", r.stdout))


def _wait_h2(server, deadline=30.0):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if _speaks_h2(server.url):
            return
        time.sleep(0.2)
    raise stacks.StartError(f"{server.name}: no HTTP/2 answer within {deadline}s")


def bench_idle_conns(args, root, results):
    """RSS of the front process(es) idle, then holding N idle keep-alive connections."""
    n = args.idle_connections
    limit = idleconns.ensure_nofile(n + 1024)
    out = {"count": n, "nofile": limit}
    if limit < n + 100:
        out["error"] = f"RLIMIT_NOFILE {limit} too low for {n} connections"
        results["idle"] = out
        return
    workdir = os.path.join(root, "idle")
    # hearthd's keep-alive timeout is 5 s by default; the connections must outlive the
    # measurement, so both servers get nginx's default 75 s.
    candidates = []
    if os.access(stacks.HEARTHD, os.X_OK):
        candidates.append("hearthd")
    if shutil.which("nginx"):
        candidates.append("nginx")
    for name in candidates:
        server = None
        try:
            if name == "hearthd":
                server = stacks.start_hearthd("hello", os.path.join(workdir, name),
                                              extra=["--keep-alive", "75s"])
                fronts = lambda s=server: [s.main_pid("hearthd")]  # noqa: E731
            else:
                port = stacks.free_port()
                server = stacks.Server("nginx", f"http://127.0.0.1:{port}/", os.path.join(workdir, name))
                loc = """        location / {
            return 200 "Hello, world!";
        }"""
                stacks._start_nginx(server, stacks._nginx_conf(
                    f"127.0.0.1:{port}", loc, worker_connections=n + 1024, rlimit=n + 2048))
                fronts = lambda s=server: s.pids()  # noqa: E731
            server.wait_ready()
            warm(server, args.warmup, None)
            time.sleep(1.0)
            idle_rss = sum(procs.rss_kib(p) for p in fronts())
            port = int(re.search(r":(\d+)/", server.url).group(1))
            held_rss, still_open, failed = idleconns.hold_idle(
                port, n, lambda: sum(procs.rss_kib(p) for p in fronts()))
            out[name] = {"idle_rss_kib": idle_rss, "held_rss_kib": held_rss, "open": still_open,
                         "failed": failed, "nprocs": len(fronts()), "commands": server.commands,
                         "configs": server.configs}
            log(f"  {name}: RSS idle {idle_rss} KiB, with {still_open} idle connections {held_rss} KiB")
        except Exception as e:
            out[name] = {"error": str(e).splitlines()[0]}
            log(f"  {name}: {out[name]['error']}")
        finally:
            if server is not None:
                stop_server(server)
    results["idle"] = out


def bench_instructions(results):
    """Instructions per proxied request under callgrind (docs/profile.md section 0), hearthd and nginx."""
    if not shutil.which("valgrind"):
        results["instructions"] = {"error": "valgrind is not installed"}
        return
    log("instructions per request (callgrind, 1,000 and 3,000 requests on one keep-alive connection)")
    out = {}
    try:
        out["hearthd"] = instructions.count("hearthd")[0]
    except Exception as e:  # reported, not fatal
        out["hearthd_error"] = str(e).splitlines()[0]
    try:
        out["nginx-uwsgi"] = instructions.measure_nginx()
    except Exception as e:
        out["nginx_error"] = str(e).splitlines()[0]
    results["instructions"] = out


def versions():
    def first_line(argv):
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
            text = (r.stdout + r.stderr).strip()
            return text.splitlines()[0] if text else "?"
        except (OSError, subprocess.TimeoutExpired):
            return "not installed"

    def deb(pkg):
        r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True)
        return r.stdout.strip() if r.returncode == 0 and r.stdout.strip() else "not installed"

    v = {
        "hearthd": first_line([stacks.HEARTHD, "--version"]) + " (repo at "
                   + first_line(["git", "-C", stacks.REPO, "log", "-1", "--format=%h %cd", "--date=iso"])
                   + f"; binary built {_mtime(stacks.HEARTHD)})",
        "uWSGI": first_line(["uwsgi", "--version"]) + f" (Debian uwsgi {deb('uwsgi')}, "
                 f"uwsgi-plugin-python3 {deb('uwsgi-plugin-python3')})",
        "gunicorn": first_line([stacks.PYTHON, "-m", "gunicorn", "--version"]).replace("__main__.py", "gunicorn")
                    + f" (Debian {deb('gunicorn')})",
        "nginx": first_line(["nginx", "-v"]) + f" (Debian nginx-light {deb('nginx-light')})",
        "Passenger": first_line(["passenger", "--version"]) + f" (Debian {deb('passenger')})",
        "Python": first_line([stacks.PYTHON, "--version"]),
        "Flask": first_line([stacks.PYTHON, "-c", "import importlib.metadata as m; print(m.version('flask'))"]),
        "ASGI peers": first_line([stacks.PYTHON, "-c", "import importlib.metadata as m; print(', '.join("
                                 "f'{p} {m.version(p)}' for p in ('fastapi', 'starlette', 'uvicorn', 'hypercorn', "
                                 "'uvloop', 'websockets', 'h11')))"]),
        "wrk": first_line(["wrk", "-v"]),
        "h2load": first_line(["h2load", "--version"]),
    }
    return v


def _mtime(path):
    try:
        return datetime.datetime.fromtimestamp(os.stat(path).st_mtime, datetime.timezone.utc).strftime("%H:%M UTC")
    except OSError:
        return "?"


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            mem = f"{int(f.readline().split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    try:
        with open("/etc/debian_version") as f:
            deb = "Debian " + f.read().strip()
    except OSError:
        deb = "?"
    return {"cpu": cpu, "cores": os.cpu_count(), "mem": mem, "os": deb, "kernel": platform.release()}


def _loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=float, default=10, help="seconds per wrk run (default 10)")
    p.add_argument("--rounds", type=int, default=2, help="interleaved rounds; the median is reported (default 2)")
    p.add_argument("--warmup", type=float, default=2, help="seconds of wrk warm-up after start (default 2)")
    p.add_argument("--only", default="", help="comma-separated stacks: "
                   + ",".join(dict.fromkeys(list(stacks.STACKS) + list(stacks.ASGI_STACKS))))
    p.add_argument("--apps", default="", help="comma-separated apps and rows: " + ",".join(ALL_APPS))
    p.add_argument("--asgi-only", action="store_true",
                   help="only the ASGI rows (fastapi, ws, sse); no extras, no instructions, no doc unless --doc")
    p.add_argument("--quick", action="store_true", help="smoke test: 3 s runs, 1 round, hello only, no extra rows")
    p.add_argument("--no-extras", action="store_true", help="skip the static, HTTP/2 and idle-connection rows")
    p.add_argument("--idle-connections", type=int, default=10000)
    p.add_argument("--extras-only", action="store_true", help="only the static, HTTP/2 and idle-connection rows")
    p.add_argument("--no-instructions", action="store_true",
                   help="skip the callgrind count of instructions per request (hearthd and nginx -> uWSGI)")
    p.add_argument("--json", default=None, help="also write the raw results as JSON here")
    p.add_argument("--render", default=None, metavar="JSON",
                   help="do not run anything: print the tables (and write --doc) from a saved --json")
    p.add_argument("--doc", default=None,
                   help="write the report here (default: docs/benchmarks.md for a full run, none for --quick)")
    args = p.parse_args(argv)
    if args.quick:
        explicit = {a.split("=")[0] for a in argv}
        if "--duration" not in explicit:
            args.duration = 3
        if "--rounds" not in explicit:
            args.rounds = 1
        if "--warmup" not in explicit:
            args.warmup = 1
        if not args.apps:
            args.apps = "hello"
        args.no_extras = True
        args.no_instructions = True
    if args.asgi_only:
        if not args.apps:
            args.apps = ",".join(list(ASGI_APPS) + list(ASGI_ROWS))
        args.no_extras = True
        args.no_instructions = True
    selected = [a.strip() for a in args.apps.split(",") if a.strip()]
    asgi_rows_only = bool(selected) and all(a in ASGI_APPS or a in ASGI_ROWS for a in selected)
    if asgi_rows_only:
        # The ASGI rows alone (--asgi-only, --apps ws, ...) would replace the whole report
        # with a few rows: no doc unless --doc names one.
        args.no_extras = True
        args.no_instructions = True
    if args.doc is None and not args.quick and not asgi_rows_only:
        args.doc = os.path.join(os.path.dirname(HERE), "docs", "benchmarks.md")
    args.duration = max(1, int(round(args.duration)))
    args.warmup = max(0, int(round(args.warmup)))
    return args


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.render:
        with open(args.render) as f:
            results = json.load(f)
        tables = report.tables(results)
        print(tables)
        if args.doc:
            with open(args.doc, "w") as f:
                f.write(report.document(results, tables))
        return 0
    only = [n.strip() for n in args.only.split(",") if n.strip()]
    names = [n for n in stacks.STACKS if n in only] if only else [n for n in stacks.STACKS if n not in stacks.OPT_IN]
    asgi_names = [n for n in stacks.ASGI_STACKS if n in only] if only else list(stacks.ASGI_STACKS)
    apps = [a.strip() for a in args.apps.split(",") if a.strip()] or list(ALL_APPS)
    for n in only:
        if n not in stacks.STACKS and n not in stacks.ASGI_STACKS:
            sys.exit(f"unknown stack {n!r}; choose from "
                     f"{', '.join(dict.fromkeys(list(stacks.STACKS) + list(stacks.ASGI_STACKS)))}")
    for a in apps:
        if a not in ALL_APPS:
            sys.exit(f"unknown app {a!r}; choose from {', '.join(ALL_APPS)}")
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (make deps-bench)")

    skipped = {}
    if any(a in APPS for a in apps):
        for n in list(names):
            ok, why = stacks.available(n)
            if not ok:
                skipped[n] = why
                names.remove(n)
                log(f"skipping {n}: {why}")
    if any(a not in APPS for a in apps):
        for n in list(asgi_names):
            ok, why = stacks.available_asgi(n)
            if not ok:
                skipped[f"{n} (ASGI)"] = why
                asgi_names.remove(n)
                log(f"skipping {n} (ASGI rows): {why}")

    started = time.time()
    results = {"apps": {}, "skipped": skipped, "args": vars(args), "argv": argv, "asgi_stacks": asgi_names,
               "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
               "machine": machine(), "versions": versions(), "stacks": names,
               "loadavg_start": _loadavg()}
    root = tempfile.mkdtemp(prefix="hearth-benchrun-")
    results["tmp_root"] = root
    try:
        for a in ([] if args.extras_only else apps):
            if a in APPS:
                bench_app(a, names, args, root, results)
            elif a in ASGI_APPS:
                bench_app(a, asgi_names, args, root, results, table=stacks.ASGI_STACKS)
            elif a == "ws":
                # The WebSocket comparison issue 17 asks for: hearthd and uvicorn (hypercorn's
                # and gunicorn's worker would add minutes, not a target).
                asgi_rows.bench_ws([n for n in asgi_names if n in ("hearthd", "uvicorn")], args, root,
                                   results, log, start_stack, stop_server)
            elif a == "sse":
                asgi_rows.bench_sse(asgi_names, args, root, results, log, start_stack, stop_server)
        if not args.no_extras:
            log("static file and HTTP/2 rows")
            bench_static_and_h2(args, root, results)
            log(f"idle rows: {args.idle_connections} idle keep-alive connections")
            bench_idle_conns(args, root, results)
        if not args.no_instructions:
            bench_instructions(results)
    finally:
        results["elapsed_s"] = time.time() - started
        results["loadavg_end"] = _loadavg()
        if os.environ.get("HEARTH_BENCH_KEEP_TMP"):
            log(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    tables = report.tables(results)
    print(tables)
    if args.doc:
        with open(args.doc, "w") as f:
            f.write(report.document(results, tables))
        log(f"wrote {args.doc}")
    log(f"done in {results['elapsed_s'] / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
