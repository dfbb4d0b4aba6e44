"""Fault-injection app for tests/integration/test_faults.py (issue 8).

Endpoints (GET unless noted):
  /                 "ok pid=P\n" ("ok pid=P i=N\n" with ?i=N: pipelining order checks)
  /segv             the worker segfaults (ctypes.string_at(0)) before answering
  /bad-header       start_response with a non-str header value
  /bad-status       start_response with a malformed status line
  /block            blocks forever (the daemon's `timeout` must end it)
  /stream?n=N       N chunks of 16 KiB, one every 10 ms (for clients that leave mid-response)
  /sleep?ms=N       sleeps N ms, then like /
  POST /echo-len    reads the body, answers its length
"""
import ctypes
import os
import threading
import time
from urllib.parse import parse_qs


def _text(start_response, body, status="200 OK"):
    body = body.encode()
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def _stream(n):
    chunk = b"x" * 16384
    for _ in range(n):
        time.sleep(0.01)
        yield chunk


def app(environ, start_response):
    path = environ.get("PATH_INFO") or "/"
    qs = parse_qs(environ.get("QUERY_STRING", ""))
    if path == "/":
        if "i" in qs:
            return _text(start_response, f"ok pid={os.getpid()} i={qs['i'][0]}\n")
        return _text(start_response, f"ok pid={os.getpid()}\n")
    if path == "/segv":
        ctypes.string_at(0)
    if path == "/bad-header":
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Count", 7)])
        return [b"never\n"]
    if path == "/bad-status":
        start_response("twohundred OK", [("Content-Type", "text/plain")])
        return [b"never\n"]
    if path == "/block":
        threading.Event().wait()
    if path == "/stream":
        n = int(qs.get("n", ["200"])[0])
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return _stream(n)
    if path == "/sleep":
        time.sleep(int(qs.get("ms", ["100"])[0]) / 1000.0)
        return _text(start_response, f"ok pid={os.getpid()}\n")
    if path == "/echo-len":
        n = 0
        inp = environ["wsgi.input"]
        while True:
            b = inp.read(65536)
            if not b:
                break
            n += len(b)
        return _text(start_response, f"{n}\n")
    return _text(start_response, "not found\n", "404 Not Found")
