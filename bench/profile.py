#!/usr/bin/env python3
"""Where hearthd's time and memory go, for docs/profile.md: one hearthd, the hello app.

Prints, for `wrk -t2 -c64` against hearthd (2 workers, preload, access log off):
  1. user and system CPU per request of the daemon and of the Python workers;
  2. the daemon's system calls per request (strace -c -f, a separate shorter run: strace
     slows the daemon, so its req/s is not reported);
  3. the idle daemon's resident memory by mapping (smaps), largest first;
  4. RSS growth per idle keep-alive connection (--idle N connections, default 2,000);
  5. the daemon's instructions per proxied request under callgrind (bench/instructions.py:
     1 worker, one keep-alive client, 1,000 and 3,000 requests, the difference / 2,000),
     with the per-request self cost by function;
  6. a static 4 KB file over one keep-alive connection, hearthd (`--static`) against nginx (`root`):
     instructions per request under callgrind and system calls per request under strace; then the
     same over HTTPS (TLS 1.3, a self-signed certificate made at run time);
  7. the large-body rows (bench/apps/big.py's 100 KB response, bench/apps/upload.py's 1 MiB POST):
     the daemon's instructions per request under callgrind (1 worker, one keep-alive client, 100
     and 300 requests, the difference / 200) and the daemon's and the worker's system calls per request.

Usage: /usr/bin/python3 bench/profile.py [--duration 8] [--idle 2000] [--no-strace]
                                         [--no-instructions | --instructions-only]
                                         [--static | --static-only | --static-https-only]
                                         [--big | --big-only]
Everything talks to 127.0.0.1; every process started is stopped by its PID.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import idleconns  # noqa: E402
import instructions  # noqa: E402
import loadgen  # noqa: E402
import procs  # noqa: E402
import stacks  # noqa: E402

TCK = os.sysconf("SC_CLK_TCK")


def start_hearthd(workdir, extra=()):
    """The bench's own hearthd (stacks.start_hearthd: hello app, 2 workers, preload, no access log)."""
    server = stacks.start_hearthd("hello", workdir, extra=extra)
    try:
        server.wait_ready()
    except stacks.StartError:
        stop(server)
        raise
    return server


def stop(server):
    left = server.stop()
    if left:
        print(f"warning: still alive after stopping hearthd: {left}", file=sys.stderr)


def cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])


def wrk(url, seconds):
    r = loadgen.run_wrk(url, seconds)
    return r["requests"], r["rps"]


def cpu_split(server, seconds):
    url = server.url
    root = server.procs[0][1].pid
    wrk(url, 2)  # warm-up
    pids = procs.tree([root])
    before = {q: cpu(q) for q in pids}
    n, rps = wrk(url, seconds)
    print(f"## CPU per request (wrk -t2 -c64 -d{seconds}s: {n:,} requests, {rps:,.0f} req/s)\n")
    print("| process | user us/req | system us/req |")
    print("|---|--:|--:|")
    total_u = total_s = 0.0
    for q in pids:
        if q not in before or not procs.is_alive(q):
            continue
        u, s = cpu(q)
        du = (u - before[q][0]) * 1e6 / TCK / n
        ds = (s - before[q][1]) * 1e6 / TCK / n
        if du == 0 and ds == 0:
            continue  # the zygote, idle
        total_u += du
        total_s += ds
        name = "hearthd daemon" if q == root else f"Python worker (pid {q})"
        print(f"| {name} | {du:.1f} | {ds:.1f} |")
    print(f"| **server tree** | {total_u:.1f} | {total_s:.1f} |\n")


def syscalls(server, seconds):
    if not shutil.which("strace"):
        print("## System calls per request\n\nstrace is not installed; skipped.\n")
        return
    tmp = tempfile.mktemp(prefix="hearth-strace-")
    tracer = subprocess.Popen(["strace", "-c", "-f", "-p", str(server.procs[0][1].pid), "-o", tmp],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        n, _ = wrk(server.url, seconds)
    finally:
        tracer.terminate()
        tracer.wait(20)
    try:
        with open(tmp) as f:
            text = f.read()
        os.unlink(tmp)
    except OSError:
        text = ""
    if "total" not in text:
        print("## Daemon system calls per request\n\nstrace could not attach (ptrace not permitted?); skipped.\n")
        return
    print(f"## Daemon system calls per request (strace -c -f, {n:,} requests under strace)\n")
    print("| syscall | calls/req | errors/req |")
    print("|---|--:|--:|")
    total = 0.0
    for line in text.splitlines():
        m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(\d+)?\s*(\w+)$", line)
        if not m or m.group(3) == "total":
            continue
        calls, errors = int(m.group(1)), int(m.group(2) or 0)
        if calls / n < 0.05:
            continue
        total += calls / n
        print(f"| {m.group(3)} | {calls / n:.2f} | {errors / n:.2f} |")
    print(f"| **total (>= 0.05/req)** | {total:.2f} | |\n")


def smaps(pid):
    rss, name = {}, None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                parts = line.split()
                name = parts[5] if len(parts) > 5 else "[anonymous]"
            elif line.startswith("Rss:"):
                rss[name] = rss.get(name, 0) + int(line.split()[1])
    return rss


def memory(server):
    time.sleep(1.0)
    rss = smaps(server.procs[0][1].pid)
    total = sum(rss.values())
    print(f"## Idle daemon RSS by mapping (after the load above; total {total:,} KiB = {total / 1024:.2f} MiB)\n")
    print("| mapping | RSS KiB |")
    print("|---|--:|")
    for name, kib in sorted(rss.items(), key=lambda kv: -kv[1]):
        if kib >= 64:
            print(f"| {os.path.basename(name) if name.startswith('/') else name} | {kib:,} |")
    print()


def idle_connections(tmp, count):
    idleconns.ensure_nofile(count + 1000)
    server = start_hearthd(os.path.join(tmp, "idle"), ["--keep-alive", "75s"])
    pid = server.procs[0][1].pid
    try:
        def rss():
            return procs.rss_kib(pid)
        wrk(server.url, 2)
        time.sleep(1.0)
        base = rss()
        port = int(server.url.rsplit(":", 1)[1].strip("/"))
        held, still_open, failed = idleconns.hold_idle(port, count, rss)
        per = (held - base) * 1024 / max(still_open, 1)
        print(f"## Idle keep-alive connections\n\n{still_open:,} held open ({failed} failed): daemon RSS "
              f"{base:,} -> {held:,} KiB, {per:,.0f} B per connection.\n")
    finally:
        stop(server)


def nginx_instructions():
    per = instructions.measure_nginx()
    if per is None:
        print("nginx -> uWSGI: nginx, uWSGI or valgrind is not installed; not counted.\n")
    else:
        print(f"nginx `uwsgi_pass` -> uWSGI (1 worker), nginx's instructions per request counted the same "
              f"way (nginx with `master_process off` under callgrind, uWSGI native): **{per:,.0f}**.\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--idle", type=int, default=2000)
    ap.add_argument("--no-strace", action="store_true")
    ap.add_argument("--no-instructions", action="store_true", help="skip the callgrind count")
    ap.add_argument("--instructions-only", action="store_true",
                    help="only the daemon's instructions per request (callgrind)")
    ap.add_argument("--top", type=int, default=25, help="functions listed with the callgrind count")
    ap.add_argument("--keep-callgrind", metavar="DIR", help="keep the two callgrind runs' files in DIR")
    ap.add_argument("--access-log", action="store_true",
                    help="also count instructions per request with the access log on (to a file)")
    ap.add_argument("--nginx", action="store_true",
                    help="also count nginx (uwsgi_pass -> one uWSGI worker) the same way, for comparison")
    ap.add_argument("--static", action="store_true",
                    help="also count a static 4 KB file's instructions and system calls per request, "
                         "hearthd (--static mount) against nginx (root)")
    ap.add_argument("--static-only", action="store_true", help="only the static 4 KB file's figures")
    ap.add_argument("--static-https-only", action="store_true",
                    help="only the static 4 KB file's figures over HTTPS (TLS 1.3)")
    ap.add_argument("--big", action="store_true",
                    help="also count the large-body rows (100 KB GET, 1 MiB POST): the daemon's instructions "
                         "and the daemon's and the worker's system calls per request")
    ap.add_argument("--big-only", action="store_true", help="only the large-body figures")
    args = ap.parse_args()
    if args.big_only:
        print(f"# large bodies, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
              f"binary {stacks.HEARTHD}\n")
        instructions.measure_big(top=args.top, keep=args.keep_callgrind)
        return
    if args.static_only:
        print(f"# static 4 KB file, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
              f"binary {stacks.HEARTHD}\n")
        instructions.measure_static(top=args.top, keep=args.keep_callgrind)
        instructions.measure_static(top=args.top, https=True)
        return
    if args.static_https_only:
        print(f"# static 4 KB file over HTTPS, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
              f"binary {stacks.HEARTHD}\n")
        instructions.measure_static(top=args.top, keep=args.keep_callgrind, https=True)
        return
    if args.instructions_only:
        print(f"# hearthd instructions per request, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
              f"binary {stacks.HEARTHD}\n")
        instructions.measure(top=args.top, keep=args.keep_callgrind)
        if args.access_log:
            instructions.measure(top=args.top, extra=instructions.ACCESS_LOG_ON)
        if args.nginx:
            nginx_instructions()
        if args.static:
            instructions.measure_static(top=args.top)
            instructions.measure_static(top=args.top, https=True)
        if args.big:
            instructions.measure_big(top=args.top)
        return
    tmp = tempfile.mkdtemp(prefix="hearth-profile-")
    server = start_hearthd(os.path.join(tmp, "load"))
    try:
        print(f"# hearthd profile, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
              f"{os.cpu_count()} cores, binary {stacks.HEARTHD}\n")
        cpu_split(server, args.duration)
        memory(server)
        if not args.no_strace:
            syscalls(server, 3)
    finally:
        stop(server)
    if args.idle:
        idle_connections(tmp, args.idle)
    if not args.no_instructions:
        instructions.measure(top=args.top)
        if args.access_log:
            instructions.measure(top=args.top, extra=instructions.ACCESS_LOG_ON)
        if args.nginx:
            nginx_instructions()
        instructions.measure_static(top=args.top)
        instructions.measure_static(top=args.top, https=True)
        instructions.measure_big(top=args.top)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
