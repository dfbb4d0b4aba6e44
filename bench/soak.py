#!/usr/bin/python3
"""Soak: hearthd under steady load for a while, its RSS sampled: does it stay flat?

    bench/soak.py                 10 minutes (issue 8's soak)
    bench/soak.py --minutes 2     a short run, to see that it works

The load, for the whole run: wrk (keep-alive GETs, -t2 -c32) against the raw WSGI
hello app, plus one client opening a fresh connection per request (connection churn)
and a /metrics scrape every sample. Every 10 s the daemon's RSS (and the workers', for
context) is read from /proc. Not part of CI: it runs for minutes.

Verdict: after a warm-up (the first minute, or the first quarter of a short run), the
mean daemon RSS over the last minute (last quarter) is compared with the mean over the
minute after the warm-up; "flat" when it grew by at most --tolerance percent (default 5)
or 1 MiB, whichever is larger. The least-squares slope over the post-warm-up samples is
printed too. Exit 0 flat, 1 growing, 2 the run itself failed.
Stdlib only; every process is stopped by PID.
"""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import loadgen  # noqa: E402
import procs  # noqa: E402
import stacks  # noqa: E402

SAMPLE_S = 10


def churn(port, stop, counts):
    """One request per connection, back to back (Connection: close)."""
    req = b"GET / HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n"
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(req)
                data = b""
                while True:
                    b = s.recv(65536)
                    if not b:
                        break
                    data += b
            counts["ok" if data.startswith(b"HTTP/1.1 200") else "bad"] += 1
        except OSError:
            counts["bad"] += 1
        stop.wait(0.01)


def scrape(admin_url):
    try:
        with urllib.request.urlopen(admin_url + "/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return None
    total = 0.0
    for line in text.splitlines():
        if line.startswith("hearth_requests_total{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def mean(xs):
    return sum(xs) / len(xs) if xs else float("nan")


def slope_per_min(points):
    """Least-squares slope of (t seconds, value) in value per minute."""
    if len(points) < 2:
        return 0.0
    mt = mean([t for t, _ in points])
    mv = mean([v for _, v in points])
    num = sum((t - mt) * (v - mv) for t, v in points)
    den = sum((t - mt) ** 2 for t, _ in points)
    return num / den * 60 if den else 0.0


def windows(minutes):
    """(warm-up end, baseline end, final start) in seconds."""
    total = minutes * 60
    span = min(60.0, total / 4)
    return span, 2 * span, total - span


def verdict(samples, minutes, tolerance_pct):
    warm, base_end, final_start = windows(minutes)
    base = [s["rss"] for s in samples if warm <= s["t"] < base_end]
    final = [s["rss"] for s in samples if s["t"] >= final_start]
    b, f = mean(base), mean(final)
    growth = f - b
    allowed = max(b * tolerance_pct / 100.0, 1024.0)
    slope = slope_per_min([(s["t"], s["rss"]) for s in samples if s["t"] >= warm])
    return {"baseline_kib": b, "final_kib": f, "growth_kib": growth, "allowed_kib": allowed,
            "growth_pct": 100.0 * growth / b if b else float("nan"), "slope_kib_per_min": slope,
            "flat": growth <= allowed, "windows": (warm, base_end, final_start)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--tolerance", type=float, default=5.0, help="allowed RSS growth, percent")
    args = ap.parse_args()
    if args.minutes < 1:
        ap.error("--minutes must be at least 1")
    duration = int(args.minutes * 60)

    stacks.WORKERS = args.workers
    workdir = tempfile.mkdtemp(prefix="hearth-soak-")
    admin_port = stacks.free_port()
    srv = stacks.start_hearthd("hello", os.path.join(workdir, "hearthd"),
                               extra=["--admin-bind", f"127.0.0.1:{admin_port}"])
    admin = f"http://127.0.0.1:{admin_port}"
    wrk = None
    stop = threading.Event()
    counts = {"ok": 0, "bad": 0}
    samples = []
    try:
        srv.wait_ready()
        daemon = srv.main_pid("hearthd")
        port = int(srv.url.rstrip("/").rsplit(":", 1)[1])
        wrk_out = open(os.path.join(workdir, "wrk.out"), "w+")
        wrk = subprocess.Popen(loadgen.wrk_command(srv.url, duration + 2, connections=args.connections),
                               stdout=wrk_out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        t = threading.Thread(target=churn, args=(port, stop, counts), daemon=True)
        t.start()
        t0 = time.monotonic()
        print(f"soak: {args.minutes:g} min, hearthd pid {daemon}, {args.workers} workers, "
              f"wrk -t2 -c{args.connections} + 1 churning client; sampling every {SAMPLE_S} s")
        print(f"{'t (s)':>6} {'daemon RSS KiB':>15} {'workers RSS KiB':>16} {'requests':>10} {'churn ok/bad':>13}")
        while True:
            now = time.monotonic() - t0
            if not procs.is_alive(daemon):
                print("hearthd died", file=sys.stderr)
                return 2
            workers = [p for p in procs.tree([daemon]) if p != daemon]
            w_rss = sum(procs.rss_kib(p) or 0 for p in workers)
            s = {"t": now, "rss": procs.rss_kib(daemon), "workers_rss": w_rss, "requests": scrape(admin)}
            samples.append(s)
            req = f"{s['requests']:.0f}" if s["requests"] is not None else "?"
            print(f"{now:6.0f} {s['rss']:15d} {w_rss:16d} {req:>10} {counts['ok']:>7}/{counts['bad']:<5}",
                  flush=True)
            if now >= duration:
                break
            time.sleep(max(0.0, (len(samples) * SAMPLE_S) - (time.monotonic() - t0)))
        stop.set()
        t.join(10)
        wrk.wait(timeout=60)
        wrk_out.seek(0)
        w = loadgen.parse_wrk(wrk_out.read())
    finally:
        stop.set()
        if wrk is not None and wrk.poll() is None:
            procs.stop_popen(wrk)
        left = srv.stop()
        if left:
            print(f"warning: processes that would not stop: {left}", file=sys.stderr)

    v = verdict(samples, args.minutes, args.tolerance)
    warm, base_end, final_start = v["windows"]
    print()
    print(f"wrk: {w['requests']} requests, {w['rps']} req/s, p99 {w['p99']} ms, non-2xx {w['non2xx']}, "
          f"socket errors {w['sock_errors']}; churn: {counts['ok']} ok, {counts['bad']} failed")
    print(f"daemon RSS: baseline {v['baseline_kib']:.0f} KiB (t {warm:.0f}-{base_end:.0f} s), "
          f"final {v['final_kib']:.0f} KiB (t >= {final_start:.0f} s): "
          f"{v['growth_kib']:+.0f} KiB ({v['growth_pct']:+.2f}%), allowed {v['allowed_kib']:.0f} KiB; "
          f"slope {v['slope_kib_per_min']:+.1f} KiB/min")
    print("verdict: " + ("FLAT" if v["flat"] else "GROWING"))
    if w["non2xx"] or w["sock_errors"] or counts["bad"]:
        print("the load saw errors; see", workdir, file=sys.stderr)
        return 2
    return 0 if v["flat"] else 1


if __name__ == "__main__":
    sys.exit(main())
