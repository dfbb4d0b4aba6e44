"""Test app for the health, warm-up, keep-warm and metrics integration tests.

Behaviour comes from the environment (set with hearthd's --env), so one module
serves every scenario:
  HW_EVENTS          a file; every request appends one JSON line
                     {"pid", "path", "internal", "rid", "t"} (internal is the
                     X-Hearth-Internal kind: warmup, health, keepwarm, or "")
  HW_HEALTH_OK       the health path (/health) answers 200 this many times per
                     process, then 500 (unset = always 200)

Endpoints:
  /            "hello" + the pid
  /health      200 or 500, see HW_HEALTH_OK
  /warm        200 "warm"
  /status?code=N   answers status N
  /sleep?ms=N  sleeps, then 200
  /rid         JSON {"rid": environ HTTP_X_REQUEST_ID, "hearth": environ hearth.request_id}
"""
import json
import os
import threading
import time
from urllib.parse import parse_qs

_lock = threading.Lock()
_health_hits = [0]


def _record(environ):
    path = os.environ.get("HW_EVENTS")
    if not path:
        return
    line = json.dumps({
        "pid": os.getpid(),
        "path": environ.get("PATH_INFO", ""),
        "internal": environ.get("HTTP_X_HEARTH_INTERNAL", ""),
        "rid": environ.get("HTTP_X_REQUEST_ID", ""),
        "t": time.time(),
    })
    with _lock, open(path, "a") as f:
        f.write(line + "\n")


def _reply(start_response, status, body, ctype="text/plain"):
    data = body.encode() if isinstance(body, str) else body
    start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(data)))])
    return [data]


def app(environ, start_response):
    _record(environ)
    path = environ.get("PATH_INFO", "/")
    qs = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    if path == "/health":
        limit = os.environ.get("HW_HEALTH_OK")
        with _lock:
            _health_hits[0] += 1
            n = _health_hits[0]
        if limit is not None and n > int(limit):
            return _reply(start_response, "500 Internal Server Error", f"unhealthy after {n}\n")
        return _reply(start_response, "200 OK", "ok\n")
    if path == "/warm":
        return _reply(start_response, "200 OK", "warm\n")
    if path == "/status":
        code = int(qs.get("code", "200"))
        return _reply(start_response, f"{code} Status {code}", f"status {code}\n")
    if path == "/sleep":
        time.sleep(int(qs.get("ms", "100")) / 1000.0)
        return _reply(start_response, "200 OK", "slept\n")
    if path == "/rid":
        body = json.dumps({"rid": environ.get("HTTP_X_REQUEST_ID"),
                           "hearth": environ.get("hearth.request_id")})
        return _reply(start_response, "200 OK", body, "application/json")
    return _reply(start_response, "200 OK", f"hello {os.getpid()}\n")
