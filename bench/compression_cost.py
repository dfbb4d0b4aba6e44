#!/usr/bin/env python3
"""CPU the hearthd daemon process spends per request on a 20 KB HTML page, with
[compression] off, and on with gzip and with brotli (bench/apps/html20k.py).

A fixed number of requests on one keep-alive connection per round (the client is
sequential, so its speed does not matter: only the daemon's own CPU time from
/proc/PID/task/*/schedstat is counted; the workers are other processes). Rounds alternate
between the configurations so that machine load affects all of them alike; the
median per configuration is reported, with the compressed size.

    /usr/bin/python3 bench/compression_cost.py [--requests 2000] [--rounds 3] [--level 4]

Bounded: REQUESTS x ROUNDS x 3 requests, every server stopped by PID.
"""
import argparse
import os
import socket
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import stacks  # noqa: E402

def cpu_seconds(pid):
    """CPU time of every thread of PID, in seconds, from /proc/PID/task/*/schedstat (ns resolution)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total / 1e9


def start(workdir, level, enabled):
    port = stacks.free_port()
    s = stacks.Server(f"hearthd-{'on' if enabled else 'off'}", f"http://127.0.0.1:{port}/", workdir)
    conf = s.write("hearth.toml", '[log]\naccess_log = ""\n[compression]\n'
                                  f'enabled = {"true" if enabled else "false"}\nlevel = {level}\n')
    s.spawn("hearthd", [stacks.HEARTHD, "html20k:application", "--chdir", stacks.APPS_DIR, "--python",
                        stacks.PYTHON, "-b", f"127.0.0.1:{port}", "-w", "1", "-c", conf,
                        "--control-socket", os.path.join(workdir, "ctl.sock"),
                        *(["--allow-root"] if os.geteuid() == 0 else [])])
    s.wait_ready()
    return s, port


def read_response(sock, buf):
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("closed")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in
               (line.partition(b":") for line in head.split(b"\r\n")[1:])}
    body = b""
    if b"content-length" in headers:
        n = int(headers[b"content-length"])
        while len(rest) < n:
            rest += sock.recv(65536)
        body, rest = rest[:n], rest[n:]
    else:  # chunked
        while True:
            while b"\r\n" not in rest:
                rest += sock.recv(65536)
            line, _, rest = rest.partition(b"\r\n")
            size = int(line.split(b";")[0], 16)
            while len(rest) < size + 2:
                rest += sock.recv(65536)
            body += rest[:size]
            rest = rest[size + 2:]
            if size == 0:
                break
    return headers, body, rest


def run_round(port, pid, requests, accept):
    req = (b"GET / HTTP/1.1\r\nHost: bench\r\n" + (b"Accept-Encoding: " + accept + b"\r\n" if accept else b"")
           + b"\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        buf = b""
        sock.sendall(req)
        headers, body, buf = read_response(sock, buf)  # warm-up, not counted
        size = len(body)
        before = cpu_seconds(pid)
        t0 = time.monotonic()
        for _ in range(requests):
            sock.sendall(req)
            headers, body, buf = read_response(sock, buf)
        wall = time.monotonic() - t0
        used = cpu_seconds(pid) - before
    return used / requests * 1e6, wall / requests * 1e6, size, headers.get(b"content-encoding", b"-").decode()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--level", type=int, default=4)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="hearth-compression-") as tmp:
        servers = []
        try:
            off, off_port = start(os.path.join(tmp, "off"), args.level, False)
            servers.append(off)
            on, on_port = start(os.path.join(tmp, "on"), args.level, True)
            servers.append(on)
            cases = [("off", off, off_port, b"gzip, br"), ("gzip", on, on_port, b"gzip"),
                     ("br", on, on_port, b"br")]
            results = {name: [] for name, *_ in cases}
            meta = {}
            for _ in range(args.rounds):
                for name, srv, port, accept in cases:
                    cpu, wall, size, enc = run_round(port, srv.main_pid("hearthd"), args.requests, accept)
                    results[name].append((cpu, wall))
                    meta[name] = (size, enc)
        finally:
            for s in servers:
                s.stop()
    base = statistics.median(c for c, _ in results["off"])
    print(f"hearthd CPU per request, 20 KB HTML page, level {args.level}, "
          f"{args.requests} requests x {args.rounds} rounds (median)")
    print("| compression | Content-Encoding | body bytes | daemon CPU us/request | extra vs off | wall us/request |")
    print("|---|---|---|---|---|---|")
    for name in ("off", "gzip", "br"):
        cpu = statistics.median(c for c, _ in results[name])
        wall = statistics.median(w for _, w in results[name])
        size, enc = meta[name]
        print(f"| {name} | {enc} | {size} | {cpu:.1f} | {cpu - base:+.1f} | {wall:.0f} |")


if __name__ == "__main__":
    main()
