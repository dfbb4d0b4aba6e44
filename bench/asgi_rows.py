"""The ASGI rows of bench/run.py besides the FastAPI JSON app (which is an app row like the others):

- WebSocket echo: ``hearth-ws-load`` (bench/tools/ws_echo_load.cc, built by CMake next to hearthd)
  holds 64 connections to ``/ws`` of bench/apps/fastapi_app.py, one message in flight on each,
  and reports messages per second and round-trip percentiles.
- Streamed response, first event: sequential HTTP/1.1 GETs of ``/sse``; the app's first event
  carries ``time.monotonic_ns()`` taken just before it is sent, the client notes the same clock
  when the event's bytes arrive: the difference is how long the server held the event.
"""
import json
import os
import re
import socket
import statistics
import subprocess
import time

import procs
import stacks

WS_LOAD = os.environ.get("HEARTH_WS_LOAD") or os.path.join(os.path.dirname(stacks.HEARTHD), "hearth-ws-load")
WS_CONNECTIONS = 64
WS_MESSAGE_BYTES = 32
SSE_TARGET_MS = 50.0


def ws_load_command(url, seconds, connections=WS_CONNECTIONS, size=WS_MESSAGE_BYTES, messages=0):
    host, port = re.match(r"http://([^:/]+):(\d+)/", url).groups()
    argv = [WS_LOAD, host, port, "/ws", "--connections", str(connections), "--seconds", str(seconds),
            "--size", str(size)]
    if messages:
        argv += ["--messages", str(messages)]
    return argv


def run_ws_load(url, seconds, **kw):
    argv = ws_load_command(url, seconds, **kw)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    try:
        out = json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise RuntimeError(f"hearth-ws-load gave no result ({' '.join(argv)}): {r.stdout}{r.stderr}")
    if not out.get("opened"):
        raise RuntimeError(f"no WebSocket connection opened: {out.get('first_error')}")
    return out


def ws_round(server, seconds):
    """One measured run against a server, with the CPU its whole tree used (and the client's)."""
    pids = server.pids()
    before = procs.cpu_ticks(pids)
    t0 = os.times()
    res = run_ws_load(server.url, seconds)
    t1 = os.times()
    cpu = procs.cpu_seconds_between(before, procs.cpu_ticks(server.pids()))
    res["cpu_s"] = cpu
    res["cpu_us_per_msg"] = cpu / res["messages"] * 1e6 if res["messages"] else None
    # The load generator's own CPU share of the run: it must stay well below one core.
    res["client_cpu_share"] = ((t1.children_user - t0.children_user) + (t1.children_system - t0.children_system)) \
        / max(res["seconds"], 1e-9)
    return res


def median_ws(rounds):
    out = {"rounds_mps": [r["mps"] for r in rounds]}
    for key in ("mps", "p50", "p99", "max", "cpu_us_per_msg", "client_cpu_share"):
        vals = [r[key] for r in rounds if r.get(key) is not None]
        out[key] = statistics.median(vals) if vals else None
    out["messages"] = sum(r["messages"] for r in rounds)
    out["errors"] = sum(r["errors"] for r in rounds)
    out["first_error"] = next((r["first_error"] for r in rounds if r.get("first_error")), "")
    out["opened"] = min(r["opened"] for r in rounds)
    return out


# -------------------------------------------------------------------------------- first event

_FIRST = re.compile(rb"event: first\ndata: (\d+)\n\n")


def first_event_delay_ms(url, timeout=10.0):
    """One GET /sse over HTTP/1.1: ms between the app stamping its first event and its arrival here."""
    host, port = re.match(r"http://([^:/]+):(\d+)/", url).groups()
    req = f"GET /sse HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n"
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(req.encode())
        buf = b""
        arrived = sent = None
        while True:
            chunk = s.recv(65536)
            now = time.monotonic_ns()
            if not chunk:
                break
            buf += chunk
            if sent is None:
                m = _FIRST.search(buf)
                if m:
                    sent, arrived = int(m.group(1)), now
            if sent is not None and b"event: second" in buf:
                break
    if not buf.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"GET /sse: {buf[:200]!r}")
    if sent is None:
        raise RuntimeError(f"GET /sse: no first event in {buf[:300]!r}")
    if b"event: second" not in buf:
        raise RuntimeError("GET /sse: the stream ended before the second event")
    return (arrived - sent) / 1e6


def sse_round(server, seconds, max_requests=1000):
    """Sequential requests for `seconds` (at most `max_requests`)."""
    delays, errors, first_error = [], 0, ""
    end = time.monotonic() + seconds
    while time.monotonic() < end and len(delays) + errors < max_requests:
        try:
            delays.append(first_event_delay_ms(server.url))
        except (OSError, RuntimeError) as e:
            errors += 1
            first_error = first_error or str(e).splitlines()[0]
    return {"delays": delays, "errors": errors, "first_error": first_error}


def summarize_sse(rounds):
    delays = sorted(d for r in rounds for d in r["delays"])
    out = {"requests": len(delays), "errors": sum(r["errors"] for r in rounds),
           "first_error": next((r["first_error"] for r in rounds if r["first_error"]), "")}
    if delays:
        out["p50"] = statistics.median(delays)
        out["p99"] = delays[min(len(delays) - 1, int(round(0.99 * (len(delays) - 1))))]
        out["max"] = delays[-1]
    return out


# -------------------------------------------------------------------------------- the rows

def _bench_servers(key, names, args, root, log, start_stack, stop_server, one_round, summarize, fmt):
    rows = {n: {"label": stacks.ASGI_STACKS[n][1]} for n in names}
    live = {}
    try:
        for n in names:
            try:
                live[n] = start_stack(n, "fastapi_app", os.path.join(root, key, n), stacks.ASGI_STACKS)
                rows[n]["commands"] = live[n].commands
            except Exception as e:  # a peer that cannot start is reported, not fatal
                rows[n]["error"] = str(e).splitlines()[0]
                log(f"  {n}: {rows[n]['error']}")
        for n, server in live.items():
            try:
                one_round(server, max(1, args.warmup))
            except Exception as e:
                rows[n]["error"] = "warm-up: " + str(e).splitlines()[0]
                log(f"  {n}: {rows[n]['error']}")
        rounds = {n: [] for n in live}
        for r in range(args.rounds):
            for n, server in live.items():
                if "error" in rows[n]:
                    continue
                try:
                    res = one_round(server, args.duration)
                except Exception as e:
                    rows[n]["error"] = f"round {r + 1}: " + str(e).splitlines()[0]
                    log(f"  {n}: {rows[n]['error']}")
                    continue
                rounds[n].append(res)
                log(f"  round {r + 1}/{args.rounds} {n}: {fmt(res)}")
        for n in live:
            if rounds[n]:
                rows[n].update(summarize(rounds[n]))
    finally:
        for server in live.values():
            stop_server(server)
    return rows


def bench_ws(names, args, root, results, log, start_stack, stop_server):
    title = f"WebSocket echo, {WS_CONNECTIONS} connections, {WS_MESSAGE_BYTES}-byte text messages (FastAPI)"
    log(f"row ws: {title}")
    if not os.access(WS_LOAD, os.X_OK):
        results["ws"] = {"title": title, "error": f"{WS_LOAD} not built (cmake --build build)", "rows": {}}
        return
    rows = _bench_servers(
        "ws", names, args, root, log, start_stack, stop_server, ws_round, median_ws,
        lambda r: f"{r['mps']:.0f} msg/s, p99 {r['p99']:.2f} ms, errors {r['errors']}, "
                  f"client CPU {r['client_cpu_share'] * 100:.0f}% of a core")
    results["ws"] = {"title": title, "rows": rows}


def bench_sse(names, args, root, results, log, start_stack, stop_server):
    title = "Streamed response: delay of the first server-sent event (FastAPI `StreamingResponse`, HTTP/1.1)"
    log(f"row sse: {title}")
    rows = _bench_servers(
        "sse", names, args, root, log, start_stack, stop_server, sse_round, summarize_sse,
        lambda r: f"{len(r['delays'])} requests, max {max(r['delays'], default=0):.2f} ms, errors {r['errors']}")
    results["sse"] = {"title": title, "rows": rows}
