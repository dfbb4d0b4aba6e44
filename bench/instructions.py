"""The daemon's instructions per proxied request, counted with callgrind (docs/profile.md).

Method (issue 14): the hello app (raw WSGI), one worker, preload, access log off; hearthd runs under
`valgrind --tool=callgrind --trace-children=no` (only the daemon is counted: the zygote and the
workers are execve'd Python processes and run natively), one keep-alive client sends exactly N
`GET /` requests on one connection, each after the previous response is complete, then hearthd is
stopped with SIGTERM and callgrind writes its totals. Two runs, N = 1,000 and N = 3,000; the
difference of the two totals divided by 2,000 is the cost of one request, with start-up, the
readiness probe and shut-down cancelled out. The same difference per function (callgrind_annotate
--inclusive=no of each run) gives the per-request self cost by function.

hearthd starts its children with Boost.Process v2 (supervisor/spawner.cc), built without
pidfd_open (BOOST_PROCESS_V2_DISABLE_PIDFD_OPEN), a system call valgrind 3.19 does not know, so the
ordinary Release binary runs under valgrind as it is.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import procs
import stacks

REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: hearth-instructions\r\nAccept: */*\r\n\r\n"

# The static figure's file: 4 KB, as the bench's static row (bench/run.py), and its path per front.
STATIC_FILE = "4k.bin"
STATIC_SIZE = 4096


# The large-body figures (bench/run.py's "big" and "upload" rows): a 100 KB response from
# bench/apps/big.py, and a 1 MiB POST to bench/apps/upload.py (which reads the body whole).
UPLOAD_SIZE = 1024 * 1024


def request_for(path, body=None):
    if body is None:
        return REQUEST.replace(b"GET / ", b"GET " + path.encode() + b" ", 1)
    head = REQUEST.replace(b"GET / ", b"POST " + path.encode() + b" ", 1)[:-2]
    return head + (b"Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n" % len(body)) + body


def keepalive_requests(port, n, timeout=60.0, path="/", body=None, tls=False):
    """Send exactly n requests of `path` on one keep-alive connection, one at a time (GETs, or POSTs of
    `body` when given), over TLS with `tls` (the certificate is not checked); returns the count of 200s."""
    ok = 0
    request = request_for(path, body)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw, \
            (stacks._unverified().wrap_socket(raw) if tls else raw) as s:
        buf = b""
        for _ in range(n):  # bounded: n requests
            s.sendall(request)
            while b"\r\n\r\n" not in buf:
                chunk = s.recv(65536)
                if not chunk:
                    raise RuntimeError(f"connection closed after {ok} responses")
                buf += chunk
            head, _, buf = buf.partition(b"\r\n\r\n")
            m = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
            if not m:
                raise RuntimeError(f"response without Content-Length: {head[:200]!r}")
            need = int(m.group(1))
            while len(buf) < need:
                chunk = s.recv(65536)
                if not chunk:
                    raise RuntimeError("connection closed inside a body")
                buf += chunk
            buf = buf[need:]
            if head.startswith(b"HTTP/1.1 200"):
                ok += 1
    return ok


def _valgrind(out):
    """The command prefix: callgrind writing to `out`, or nothing (out None: run natively, e.g. under strace)."""
    if out is None:
        return []
    return ["valgrind", "--tool=callgrind", "--trace-children=no", f"--callgrind-out-file={out}"]


def _static_www(workdir):
    """A directory holding the 4 KB file (the bench's static row: 4,096 bytes of 's')."""
    www = os.path.join(workdir, "www")
    os.makedirs(www, exist_ok=True)
    path = os.path.join(www, STATIC_FILE)
    with open(path, "wb") as f:
        f.write(b"s" * STATIC_SIZE)
    # An hour old, as a deployed file: hearthd keeps a small file in memory only once it is
    # a second old (docs/static.md), which would otherwise depend on how long start-up took.
    os.utime(path, (time.time() - 3600, time.time() - 3600))
    return www


def _start_hearthd(workdir, port, out, extra, app="hello"):
    server = stacks.Server("hearthd-callgrind", f"http://127.0.0.1:{port}/", workdir)
    conf = server.write("hearth.toml", '[log]\naccess_log = ""\n')
    argv = [*_valgrind(out),
            stacks.HEARTHD, f"{app}:application", "--chdir", stacks.APPS_DIR, "--python", stacks.PYTHON,
            "-b", f"127.0.0.1:{port}", "-w", "1", "--preload", "-c", conf,
            "--control-socket", os.path.join(workdir, "ctl.sock"),
            *(["--allow-root"] if os.geteuid() == 0 else []), *(e.replace("{workdir}", workdir) for e in extra)]
    return server, server.spawn("hearthd", argv)


# `extra` for measure(): the access log on, written to a file in the run's directory.
ACCESS_LOG_ON = ("--access-logfile", "{workdir}/access.log")


def _start_nginx_uwsgi(workdir, port, out, extra):
    """nginx (one process: master_process off) doing uwsgi_pass to one uWSGI worker over a Unix socket."""
    server = stacks.Server("nginx-uwsgi-callgrind", f"http://127.0.0.1:{port}/", workdir)
    sock = os.path.join(workdir, "uwsgi.sock")
    uw = stacks._uwsgi_argv("hello", workdir, ["--socket", sock, "--chmod-socket=660"])
    uw[uw.index("--processes") + 1] = "1"
    server.spawn("uwsgi", uw)
    loc = f"""        location / {{
            include /etc/nginx/uwsgi_params;
            uwsgi_pass unix:{sock};
        }}"""
    # keepalive_requests: nginx's default (1000) would end the client's connection mid-run.
    conf = stacks._nginx_conf(f"127.0.0.1:{port}", loc, extra_http="    keepalive_requests 1000000;\n")
    conf = conf.replace("master_process on;", "master_process off;")
    os.makedirs(os.path.join(workdir, "tmp"), exist_ok=True)
    server.write("nginx.conf", conf)
    return server, server.spawn("nginx", [*_valgrind(out), "nginx", "-p", workdir + "/", "-c", "nginx.conf"])


def _start_hearthd_static(workdir, port, out, extra):
    """hearthd serving the 4 KB file from a `--static` mount (bench/run.py's static row); the app is not involved."""
    www = _static_www(workdir)
    server, proc = _start_hearthd(workdir, port, out, ("--static", f"/static/={www}", *extra))
    server.url += f"static/{STATIC_FILE}"
    return server, proc


def _start_nginx_static(workdir, port, out, extra):
    """nginx (one process: master_process off) serving the 4 KB file with `root`, as the bench's static peer."""
    server = stacks.Server("nginx-static-callgrind", f"http://127.0.0.1:{port}/{STATIC_FILE}", workdir)
    www = _static_www(workdir)
    loc = f"""        location / {{
            root {www};
        }}"""
    conf = stacks._nginx_conf(f"127.0.0.1:{port}", loc, extra_http="    keepalive_requests 1000000;\n")
    conf = conf.replace("master_process on;", "master_process off;")
    os.makedirs(os.path.join(workdir, "tmp"), exist_ok=True)
    server.write("nginx.conf", conf)
    return server, server.spawn("nginx", [*_valgrind(out), "nginx", "-p", workdir + "/", "-c", "nginx.conf"])


def _start_hearthd_static_https(workdir, port, out, extra):
    """The same `--static` mount over HTTPS (bench/run.py's HTTPS static row: a self-signed EC P-256
    certificate made now, TLS 1.3 only)."""
    www = _static_www(workdir)
    cert, key = stacks.make_tls_cert(os.path.join(workdir, "tls"))
    server = stacks.Server("hearthd-callgrind", f"https://127.0.0.1:{port}/static/{STATIC_FILE}", workdir)
    conf = server.write("hearth.toml", '[log]\naccess_log = ""\n[tls]\nmin_version = "1.3"\n')
    argv = [*_valgrind(out),
            stacks.HEARTHD, "hello:application", "--chdir", stacks.APPS_DIR, "--python", stacks.PYTHON,
            "-b", f"127.0.0.1:{port}", "-w", "1", "--preload", "-c", conf,
            "--control-socket", os.path.join(workdir, "ctl.sock"), "--static", f"/static/={www}",
            "--certfile", cert, "--keyfile", key,
            *(["--allow-root"] if os.geteuid() == 0 else []), *extra]
    return server, server.spawn("hearthd", argv)


def _start_nginx_static_https(workdir, port, out, extra):
    """nginx (one process) serving the 4 KB file with `root` over `listen ... ssl`, TLS 1.3 only, the
    same kind of certificate."""
    server = stacks.Server("nginx-static-callgrind", f"https://127.0.0.1:{port}/{STATIC_FILE}", workdir)
    www = _static_www(workdir)
    cert, key = stacks.make_tls_cert(os.path.join(workdir, "tls"))
    loc = f"""        location / {{
            root {www};
        }}"""
    conf = stacks._nginx_conf(f"127.0.0.1:{port} ssl", loc,
                              extra_http=f"    keepalive_requests 1000000;\n    ssl_certificate {cert};\n"
                                         f"    ssl_certificate_key {key};\n    ssl_protocols TLSv1.3;\n")
    conf = conf.replace("master_process on;", "master_process off;")
    os.makedirs(os.path.join(workdir, "tmp"), exist_ok=True)
    server.write("nginx.conf", conf)
    return server, server.spawn("nginx", [*_valgrind(out), "nginx", "-p", workdir + "/", "-c", "nginx.conf"])


def _start_hearthd_big(workdir, port, out, extra):
    """hearthd in front of bench/apps/big.py (a 100 KB response)."""
    return _start_hearthd(workdir, port, out, extra, app="big")


def _start_hearthd_upload(workdir, port, out, extra):
    """hearthd in front of bench/apps/upload.py (reads a POST body whole, answers its length)."""
    return _start_hearthd(workdir, port, out, extra, app="upload")


TARGETS = {"hearthd": _start_hearthd, "nginx-uwsgi": _start_nginx_uwsgi,
           "hearthd-static": _start_hearthd_static, "nginx-static": _start_nginx_static,
           "hearthd-static-https": _start_hearthd_static_https, "nginx-static-https": _start_nginx_static_https,
           "hearthd-big": _start_hearthd_big, "hearthd-upload": _start_hearthd_upload}
# Fronts spoken to over TLS.
TLS_TARGETS = {"hearthd-static-https", "nginx-static-https"}
# The request body each front's client sends (None: a GET).
BODIES = {"hearthd-upload": b"a" * UPLOAD_SIZE}
# The path each front's client asks for.
PATHS = {"hearthd": "/", "nginx-uwsgi": "/", "hearthd-static": f"/static/{STATIC_FILE}",
         "nginx-static": f"/{STATIC_FILE}", "hearthd-static-https": f"/static/{STATIC_FILE}",
         "nginx-static-https": f"/{STATIC_FILE}", "hearthd-big": "/", "hearthd-upload": "/"}


def _stop(proc):
    # callgrind writes its file at exit; give it time, and repeat the signal once or
    # twice (seen once: nginx under valgrind on a loaded machine missing the first).
    for attempt in range(3):  # bounded
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60.0)
            break
        except subprocess.TimeoutExpired:
            if attempt == 2:
                raise


def _run_once(workdir, n, extra=(), target="hearthd"):
    """One front (hearthd, or nginx -> uWSGI) under callgrind serving n requests; returns (total Ir, annotate)."""
    port = stacks.free_port()
    out = os.path.join(workdir, "callgrind.out")
    server, proc = TARGETS[target](workdir, port, out, extra)
    try:
        server.wait_ready(path="", deadline=120.0)
        ok = keepalive_requests(port, n, path=PATHS[target], body=BODIES.get(target), tls=target in TLS_TARGETS)
        if ok != n:
            raise RuntimeError(f"{ok} of {n} requests answered 200")
        _stop(proc)
    finally:
        left = server.stop()
        if left:
            print(f"warning: still alive after stopping {target}: {left}")
    with open(out) as f:
        total = None
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                total = int(line.split()[1])
    if total is None:
        raise RuntimeError(f"no totals in {out}")
    annotate = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=100", out],
                              capture_output=True, text=True, check=False).stdout
    return total, annotate


def _short_name(name):
    """`file:ns::f(args) [clone .isra.0]` -> `ns::f` (files of glibc are kept: `memmove...S:__memcpy...`)."""
    file, _, func = name.partition(":")
    if not func:
        return name
    func = func.replace("(anonymous namespace)", "{anon}")
    depth, cut = 0, len(func)
    for i, c in enumerate(func):  # drop the parameter list: the first '(' at template depth 0
        if c == "<":
            depth += 1
        elif c == ">":
            depth -= 1
        elif c == "(" and depth == 0 and i > 0 and not func.startswith("decltype"):
            cut = i
            break
    func = func[:cut].replace("{anon}", "(anonymous namespace)")
    if file.endswith((".c", ".S")):
        return f"{func} ({os.path.basename(file)})"
    return func


def _self_costs(annotate):
    """function -> self Ir from callgrind_annotate --inclusive=no output."""
    costs = {}
    for line in annotate.splitlines():
        m = re.match(r"\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(\S.*?)\s*$", line)
        if not m or ":" not in m.group(2):
            continue
        name = _short_name(re.sub(r"\s+\[[^\]]*\]$", "", m.group(2)))
        costs[name] = costs.get(name, 0) + int(m.group(1).replace(",", ""))
    return costs


def _print_self_costs(ann_s, ann_l, small, large, per, top, heading="Self cost per request by function"):
    """The `top` functions by self cost per request (the difference of the two runs' annotations),
    as a markdown table."""
    cs, cl = _self_costs(ann_s), _self_costs(ann_l)
    diff = {k: (cl.get(k, 0) - cs.get(k, 0)) / (large - small) for k in set(cs) | set(cl)}
    print(f"{heading} (difference of the two runs):\n")
    print("| Ir/req | share | function |")
    print("|--:|--:|---|")
    for name, v in sorted(diff.items(), key=lambda kv: -kv[1])[:top]:
        if v < 1:
            break
        short = (name if len(name) <= 110 else name[:107] + "...").replace("|", "\\|")
        print(f"| {v:,.0f} | {100 * v / per:.1f}% | `{short}` |")
    print()


def count(target="hearthd", small=1000, large=3000, extra=(), keep=None):
    """(instructions per request, annotate small, annotate large, totals) for one front."""
    tmp = keep or tempfile.mkdtemp(prefix="hearth-callgrind-")
    try:
        total_s, ann_s = _run_once(os.path.join(tmp, target, "small"), small, extra, target)
        total_l, ann_l = _run_once(os.path.join(tmp, target, "large"), large, extra, target)
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return (total_l - total_s) / (large - small), ann_s, ann_l, (total_s, total_l)


def measure_nginx(small=1000, large=3000):
    """nginx -> uWSGI's instructions per request in nginx, the same way; None when not installed."""
    if not (shutil.which("valgrind") and shutil.which("nginx") and shutil.which("uwsgi")):
        return None
    ok, _ = stacks.available("nginx-uwsgi")
    if not ok:
        return None
    return count("nginx-uwsgi", small, large)[0]


def measure(small=1000, large=3000, top=25, extra=(), quiet=False, keep=None):
    """Instructions the daemon spends per proxied request; prints a markdown section, returns the figure."""
    if not shutil.which("valgrind"):
        print("## Daemon instructions per request\n\nvalgrind is not installed; skipped.\n")
        return None
    t0 = time.monotonic()
    per, ann_s, ann_l, (total_s, total_l) = count("hearthd", small, large, extra, keep)
    title = " (access log on)" if tuple(extra) == ACCESS_LOG_ON else ""
    print(f"## Daemon instructions per proxied request{title} (callgrind)\n\n"
          f"hello app, 1 worker, preload, "
          f"{'access log to a file' if tuple(extra) == ACCESS_LOG_ON else 'access log off'}"
          f"{' ' + ' '.join(extra) if extra and tuple(extra) != ACCESS_LOG_ON else ''}, "
          f"one keep-alive client: {small:,} requests -> {total_s:,} Ir, {large:,} requests -> "
          f"{total_l:,} Ir: **{per:,.0f} instructions per request** "
          f"({time.monotonic() - t0:.0f} s).\n")
    if top and not quiet:
        _print_self_costs(ann_s, ann_l, small, large, per, top)
    return per



def _parse_strace(text, n):
    rows = {}
    for line in text.splitlines():
        m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(\d+)?\s*(\w+)$", line)
        if m and m.group(3) != "total":
            rows[m.group(3)] = (int(m.group(1)) / n, int(m.group(2) or 0) / n)
    return rows or None


def syscalls(target, n=2000, workers=False):
    """System calls per request of one front running natively (no valgrind) under `strace -c -f`,
    attached once it is ready; n requests on one keep-alive connection. Returns {syscall: (calls/req,
    errors/req)}, or None when strace is missing or cannot attach. With `workers`, returns
    (front's rows, rows of its child processes: the zygote and the worker, attached separately)."""
    if not shutil.which("strace"):
        return (None, None) if workers else None
    tmp = tempfile.mkdtemp(prefix="hearth-strace-")
    port = stacks.free_port()
    server, proc = TARGETS[target](tmp, port, None, ())
    out = os.path.join(tmp, "strace.out")
    out_w = os.path.join(tmp, "strace-workers.out")
    text = text_w = ""
    body = BODIES.get(target)
    tls = target in TLS_TARGETS
    try:
        server.wait_ready(path="", deadline=60.0)
        keepalive_requests(port, 10, path=PATHS[target], body=body, tls=tls)  # warm-up: caches, first-use allocations
        tracers = [subprocess.Popen(["strace", "-c", "-f", "-p", str(proc.pid), "-o", out],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        if workers:
            kids = [q for q in procs.tree([proc.pid]) if q != proc.pid]
            if kids:
                tracers.append(subprocess.Popen(
                    ["strace", "-c", *[a for q in kids for a in ("-p", str(q))], "-o", out_w],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        try:
            time.sleep(1.0)  # strace attaches
            ok = keepalive_requests(port, n, path=PATHS[target], body=body, tls=tls)
            if ok != n:
                raise RuntimeError(f"{ok} of {n} requests answered 200")
        finally:
            for tracer in tracers:
                tracer.terminate()
                tracer.wait(20)
        with open(out) as f:
            text = f.read()
        if workers and os.path.exists(out_w):
            with open(out_w) as f:
                text_w = f.read()
    except OSError:
        pass
    finally:
        left = server.stop()
        if left:
            print(f"warning: still alive after stopping {target}: {left}")
        shutil.rmtree(tmp, ignore_errors=True)
    if workers:
        return _parse_strace(text, n), _parse_strace(text_w, n)
    return _parse_strace(text, n)


def measure_static(small=1000, large=3000, top=25, keep=None, https=False):
    """A 4 KB static file over one keep-alive connection: hearthd (`--static` mount) and nginx (`root`, one
    process), instructions per request under callgrind and system calls per request under strace.
    With `https`, the same over TLS 1.3 (a self-signed EC P-256 certificate each, made now; the
    handshake is in both runs and cancels out). Prints a markdown section; returns (hearthd Ir/req,
    nginx Ir/req or None)."""
    what = "Static 4 KB file over HTTPS" if https else "Static 4 KB file"
    if not shutil.which("valgrind"):
        print(f"## {what}\n\nvalgrind is not installed; skipped.\n")
        return None, None
    have_nginx = bool(shutil.which("nginx"))
    suffix = "-https" if https else ""
    per, ann_s, ann_l, (total_s, total_l) = count("hearthd-static" + suffix, small, large, (), keep)
    ng = count("nginx-static" + suffix, small, large, (), keep)[0] if have_nginx else None
    tls_note = (" over TLS 1.3 (`--certfile`, `[tls] min_version = \"1.3\"`; nginx `listen ... ssl`, "
                "`ssl_protocols TLSv1.3`; Python's ssl client, default suites)" if https else "")
    print(f"## {what}: instructions per request (callgrind)\n\n"
          f"one keep-alive client{tls_note}, GET of a 4,096-byte file, {small:,} and {large:,} requests, "
          f"the difference / {large - small:,}: hearthd (`--static` mount, access log off, 1 worker for the app, "
          f"not involved) **{per:,.0f}**" + (f", nginx (`root`, `master_process off`, one process) **{ng:,.0f}**: "
                                             f"{per / ng:.2f}x nginx's" if ng else ", nginx not installed") + ".\n")
    if top:
        _print_self_costs(ann_s, ann_l, small, large, per, top, "hearthd's self cost per request by function")
    fronts = [("hearthd", "hearthd-static" + suffix)] + ([("nginx", "nginx-static" + suffix)] if have_nginx else [])
    counted = {label: syscalls(target) for label, target in fronts}
    if not any(counted.values()):
        print("System calls: strace is not installed or cannot attach; skipped.\n")
        return per, ng
    names = sorted({k for rows in counted.values() if rows for k, (c, _) in rows.items() if c >= 0.01})
    print(f"System calls per static request{' over HTTPS' if https else ''} (`strace -c -f` attached to the "
          "running front, 2,000 requests on one keep-alive connection; calls >= 0.01 per request):\n")
    print("| syscall | " + " | ".join(label for label, _ in fronts) + " |")
    print("|---|" + "--:|" * len(fronts))
    for name in names:
        cells = []
        for label, _ in fronts:
            c, e = (counted[label] or {}).get(name, (0.0, 0.0))
            cells.append(f"{c:.2f}" + (f" ({e:.2f} errors)" if e >= 0.01 else ""))
        print(f"| {name} | " + " | ".join(cells) + " |")
    totals = [sum(c for c, _ in (counted[label] or {}).values() if c >= 0.01) for label, _ in fronts]
    print("| **total** | " + " | ".join(f"**{t:.2f}**" for t in totals) + " |\n")
    return per, ng


BIG_ROWS = (("hearthd-big", "100 KB response (GET, bench/apps/big.py)"),
            ("hearthd-upload", "1 MiB POST upload (bench/apps/upload.py reads it whole)"))


def measure_big(small=100, large=300, top=25, keep=None, strace_n=300):
    """The large-body rows (bench/run.py's "big" and "upload"): the daemon's instructions per request
    under callgrind (one keep-alive client, one worker, access log off; the difference of `small` and
    `large` requests), and the daemon's and the worker's system calls per request under strace.
    Prints a markdown section per row; returns {target: daemon Ir/req}."""
    if not shutil.which("valgrind"):
        print("## Large bodies\n\nvalgrind is not installed; skipped.\n")
        return {}
    result = {}
    for target, title in BIG_ROWS:
        per, ann_s, ann_l, (total_s, total_l) = count(target, small, large, (), keep)
        result[target] = per
        print(f"## {title}: daemon instructions and system calls per request\n\n"
              f"1 worker, preload, access log off, one keep-alive client: {small:,} requests -> {total_s:,} Ir, "
              f"{large:,} requests -> {total_l:,} Ir: **{per:,.0f} instructions per request**.\n")
        if top:
            _print_self_costs(ann_s, ann_l, small, large, per, top)
        daemon, worker = syscalls(target, n=strace_n, workers=True)
        if not daemon:
            print("System calls: strace is not installed or cannot attach; skipped.\n")
            continue
        worker = worker or {}
        names = sorted({k for rows in (daemon, worker) for k, (c, _) in rows.items() if c >= 0.01})
        print(f"System calls per request (`strace -c -f` attached to the daemon, `strace -c` to its children, "
              f"{strace_n:,} requests on one keep-alive connection; calls >= 0.01 per request):\n")
        print("| syscall | daemon | worker (and zygote) |")
        print("|---|--:|--:|")
        for name in names:
            cells = []
            for rows in (daemon, worker):
                c, e = rows.get(name, (0.0, 0.0))
                cells.append(f"{c:.2f}" + (f" ({e:.2f} errors)" if e >= 0.01 else ""))
            print(f"| {name} | " + " | ".join(cells) + " |")
        totals = [sum(c for c, _ in rows.values() if c >= 0.01) for rows in (daemon, worker)]
        print("| **total** | " + " | ".join(f"**{t:.2f}**" for t in totals) + " |\n")
    return result
