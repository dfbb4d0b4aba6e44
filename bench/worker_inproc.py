#!/usr/bin/python3
"""The worker runtime's own CPU per request, without hearthd: the real slot loop
(hearth_worker's WSGI ``Slot`` or ASGI ``AsyncSlot``) serves one slot socket in this process
while a forked driver plays the daemon, sending ``REQUEST`` frames one at a time (the block
hearthd sends for a ``wrk`` request) and reading each response to its ``RESPONSE_END``.

It prints this process's CPU time per request (``time.process_time``) for N requests, best
of ROUNDS, so a change to the runtime can be measured in microseconds on a busy machine
(docs/profile.md section 5). ``--profile`` runs the loop under cProfile and prints the top
functions by own time instead. The app is any ``module:callable`` importable from bench/apps.

  /usr/bin/python3 bench/worker_inproc.py asgi fastapi_app:application
  /usr/bin/python3 bench/worker_inproc.py wsgi flask_hello:application -n 20000
  /usr/bin/python3 bench/worker_inproc.py asgi fastapi_app:application --profile
"""
import argparse
import importlib
import os
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
# bench/profile.py would shadow the stdlib's profile (cProfile imports it).
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
sys.path.insert(0, os.path.join(REPO, "plugins", "python"))
sys.path.insert(0, os.path.join(HERE, "apps"))

# The C accelerator of build/ (docs/worker-protocol.md), unless HEARTH_SPEEDUPS_DIR names
# another build's or HEARTH_NO_SPEEDUPS=1 measures the pure-Python runtime.
os.environ.setdefault("HEARTH_SPEEDUPS_DIR", os.path.join(REPO, "build", "python-speedups"))
from hearth_worker import protocol as P  # noqa: E402
from hearth_worker import speedups  # noqa: E402

# What hearthd sends for `wrk http://127.0.0.1:PORT/` (captured from a running daemon).
ENVIRON = [
    ("wsgi.url_scheme", "http"), ("REQUEST_METHOD", "GET"), ("SCRIPT_NAME", ""), ("PATH_INFO", "/"),
    ("QUERY_STRING", ""), ("RAW_URI", "/"), ("REQUEST_URI", "/"), ("SERVER_PROTOCOL", "HTTP/1.1"),
    ("SERVER_SOFTWARE", "hearth/0.1.0"), ("HTTP_HOST", "127.0.0.1:8000"), ("SERVER_NAME", "127.0.0.1"),
    ("SERVER_PORT", "8000"), ("REMOTE_ADDR", "127.0.0.1"), ("REMOTE_PORT", "44064"),
    ("HTTP_X_REQUEST_ID", "7cfa3c64-1"), ("hearth.request_id", "7cfa3c64-1"),
]


def request_frame():
    block = P.encode_pairs(ENVIRON)
    return P.HEADER.pack(P.REQUEST, 0, 0, len(block), 0) + block


def drive(sock, n):
    """The daemon's side: n requests, each answered to its RESPONSE_END; then close."""
    req = request_frame()
    buf = bytearray(1 << 16)
    view = memoryview(buf)
    unpack = P.HEADER.unpack_from
    ready = False
    for _ in range(n):
        sock.sendall(req)
        got = pos = 0
        while True:
            while got - pos < 16 or got - pos < 16 + unpack(buf, pos)[3]:
                if pos and pos == got:
                    pos = got = 0
                k = sock.recv_into(view[got:])
                if not k:
                    raise EOFError("worker closed the slot")
                got += k
            ftype, _f, _r, length, _a = unpack(buf, pos)
            pos += 16 + length
            if ftype == P.WORKER_READY and not ready:
                ready = True
                continue
            if ftype == P.RESPONSE_END:
                break
        if pos != got:
            raise AssertionError("bytes after RESPONSE_END")
    sock.close()


class _FakeWorker:
    """What Slot/AsyncSlot/AsgiWorker read from hearth_worker.worker.Worker."""

    def __init__(self, app, sock):
        self.app = app
        self.socks = [sock]
        self.threads = 1
        self.worker_id = 1
        self.stopping = False
        self.fork_time = time.monotonic()

    def idle_after_stop(self, slot):  # pragma: no cover - never stopping here
        pass


def serve_wsgi(app, sock):
    from hearth_worker.conn import SlotClosed
    from hearth_worker.worker import Slot
    sock.setblocking(True)
    slot = Slot(_FakeWorker(app, sock), 0, sock, app)
    try:
        slot.serve()
    except SlotClosed:
        pass


def serve_asgi(app, sock):
    from hearth_worker.asgi_worker import AsgiWorker, AsyncSlot
    from hearth_worker.conn import SlotClosed
    aw = AsgiWorker(_FakeWorker(app, sock), "auto")
    aw.loop.run_until_complete(aw.lifespan.startup())
    sock.setblocking(False)
    slot = AsyncSlot(aw, 0, sock)
    aw.slots = [slot]

    async def run():
        try:
            await slot.serve()
        except SlotClosed:
            pass
    aw.loop.run_until_complete(run())
    aw.loop.run_until_complete(aw.lifespan.shutdown())
    aw.loop.close()


def one_round(kind, app, n, profile=None):
    a, b = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        a.close()
        try:
            drive(b, n)
        finally:
            os._exit(0)
    b.close()
    serve = serve_asgi if kind == "asgi" else serve_wsgi
    c0 = time.process_time()
    if profile is not None:
        profile.runcall(serve, app, a)
    else:
        serve(app, a)
    cpu = time.process_time() - c0
    a.close()
    _pid, status = os.waitpid(pid, 0)
    if status:
        raise RuntimeError("driver failed (status %d)" % status)
    return cpu / n * 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=("asgi", "wsgi"))
    ap.add_argument("app", help="module:callable from bench/apps, e.g. fastapi_app:application")
    ap.add_argument("-n", type=int, default=10000, help="requests per round")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--profile", action="store_true", help="cProfile one round; top 30 by own time")
    args = ap.parse_args()
    module, _, attr = args.app.partition(":")
    app = getattr(importlib.import_module(module), attr or "application")
    one_round(args.kind, app, 1000)  # warm-up: imports, caches
    if args.profile:
        import cProfile
        import pstats
        prof = cProfile.Profile(time.process_time)  # CPU time: a busy machine preempts us
        one_round(args.kind, app, args.n, prof)
        pstats.Stats(prof).sort_stats("tottime").print_stats(30)
        return
    runs = [one_round(args.kind, app, args.n) for _ in range(args.rounds)]
    print("%s %s: %.1f us/request (best of %d rounds of %d; all: %s) [%s]" % (
        args.kind, args.app, min(runs), len(runs), args.n, ", ".join("%.1f" % r for r in runs),
        "C accelerator" if speedups.SPEEDUPS is not None else "pure Python"))


if __name__ == "__main__":
    main()
