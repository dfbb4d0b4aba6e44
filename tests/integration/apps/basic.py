"""The raw (framework-free) WSGI test app. Every endpoint keeps to PEP 3333 so the
same app can run wrapped in wsgiref.validate (see validated_basic.py).

Endpoints (GET unless noted):
  /                    "Hello from basic"
  /environ             JSON: every str-valued environ key, the wsgi.* flags, pids,
                       HEARTH_WORKER_ID / HEARTH_PRELOAD from os.environ
  /echo         POST   the request body back; X-Content-Length = environ CONTENT_LENGTH
  /echo-info    POST   JSON {content_length, length, sha256}
  /lines        POST   JSON: first readline(), then readlines()
  /iterlines    POST   JSON: `for line in wsgi.input`
  /sleep?ms=N          sleeps, then JSON {pid, thread}
  /block?started=F&release=G&max=S
                       creates F, waits until G exists (at most S seconds)
  /barrier?dir=D&n=N&max=S
                       creates a file in D, waits until D holds N files (at most S s);
                       answers {"ok": true} only if all N arrived while it waited
                       (with the worker's pid and HEARTH_WORKER_ID)
  /stream?n=N&delay_ms=D[&closed=F]
                       a body of N lines, no Content-Length; close() creates F
  /big?size=N          N bytes (in 64 KiB chunks) with Content-Length
  /errors?msg=M        writes M to wsgi.errors
  /p/<anything>        JSON {"path": PATH_INFO}
  /status?code=N       an empty response with that status (204/304: no Content-Type)
  /crash               the worker process dies (os._exit) in the middle of a request
  /die-once?marker=F   dies like /crash if file F does not exist yet (creating it), else 200
  /raise?token=T[&rid_file=F]
                       raises RuntimeError("boom-secret-T"); first writes
                       environ["hearth.request_id"] to F if given
  /raise-late          yields one chunk, then raises
  /write               uses the write() callable, then returns an iterable
  /file                this file's bytes through wsgi.file_wrapper
  /excinfo             calls start_response again with exc_info after an error
"""
import hashlib
import json
import os
import sys
import threading
import time
import uuid
from urllib.parse import parse_qs

IMPORT_PID = os.getpid()
_HERE = os.path.abspath(__file__)


def _qs(environ):
    return {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}


def _read_body(environ):
    try:
        remaining = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        remaining = 0
    stream = environ["wsgi.input"]
    parts = []
    while remaining > 0:
        chunk = stream.read(min(remaining, 65536))
        if not chunk:
            break
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


def _respond(start_response, body, status="200 OK", ctype="text/plain", extra=()):
    if isinstance(body, str):
        body = body.encode("utf-8")
    start_response(status, [
        ("Content-Type", ctype),
        ("Content-Length", str(len(body))),
        *extra,
    ])
    return [body]


def _json(start_response, obj, status="200 OK"):
    return _respond(start_response, json.dumps(obj, sort_keys=True), status,
                    "application/json")


def _environ_view(environ):
    view = {k: v for k, v in environ.items() if isinstance(v, str)}
    view.update({
        "wsgi.version": list(environ.get("wsgi.version", ())),
        "wsgi.multithread": environ.get("wsgi.multithread"),
        "wsgi.multiprocess": environ.get("wsgi.multiprocess"),
        "wsgi.run_once": environ.get("wsgi.run_once"),
        "has_file_wrapper": "wsgi.file_wrapper" in environ,
        "pid": os.getpid(),
        "import_pid": IMPORT_PID,
        "os.HEARTH_WORKER_ID": os.environ.get("HEARTH_WORKER_ID"),
        "os.HEARTH_PRELOAD": os.environ.get("HEARTH_PRELOAD"),
        "os.HEARTH_TEST_FLAG": os.environ.get("HEARTH_TEST_FLAG"),
        "thread": threading.current_thread().name,
    })
    return view


class _Lines:
    """A streamed body with an explicit close() (a generator would do too)."""

    def __init__(self, n, delay, closed=None):
        self.n, self.delay, self.i, self.closed = n, delay, 0, closed

    def __iter__(self):
        return self

    def __next__(self):
        if self.i >= self.n:
            raise StopIteration
        if self.delay and self.i:
            time.sleep(self.delay)
        line = f"line {self.i:05d} {'x' * 40}\n".encode()
        self.i += 1
        return line

    def close(self):
        if self.closed:
            with open(self.closed, "w") as f:
                f.write(str(self.i))


def _raise_late(start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"first part\n"
    raise RuntimeError("boom-late")


def app(environ, start_response):
    path = environ.get("PATH_INFO") or "/"
    q = _qs(environ)

    if path == "/":
        return _respond(start_response, "Hello from basic\n")

    if path == "/environ":
        return _json(start_response, _environ_view(environ))

    if path == "/echo":
        body = _read_body(environ)
        return _respond(start_response, body, ctype="application/octet-stream", extra=[
            ("X-Content-Length", environ.get("CONTENT_LENGTH") or ""),
        ])

    if path == "/echo-info":
        body = _read_body(environ)
        return _json(start_response, {
            "content_length": environ.get("CONTENT_LENGTH"),
            "length": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
        })

    if path == "/lines":
        stream = environ["wsgi.input"]
        first = stream.readline()
        rest = stream.readlines()
        return _json(start_response, {"first": first.decode("latin-1"),
                                      "rest": [x.decode("latin-1") for x in rest]})

    if path == "/iterlines":
        lines = [x.decode("latin-1") for x in environ["wsgi.input"]]
        return _json(start_response, {"lines": lines})

    if path == "/sleep":
        time.sleep(int(q.get("ms", "100")) / 1000.0)
        return _json(start_response, {"pid": os.getpid(),
                                      "thread": threading.current_thread().name})

    if path == "/block":
        with open(q["started"], "w") as f:
            f.write(str(os.getpid()))
        deadline = time.monotonic() + float(q.get("max", "10"))
        released = False
        while time.monotonic() < deadline:
            if os.path.exists(q["release"]):
                released = True
                break
            time.sleep(0.01)
        return _respond(start_response, "released\n" if released else "timeout\n",
                        extra=[("X-Pid", str(os.getpid()))])

    if path == "/barrier":
        d, n = q["dir"], int(q["n"])
        with open(os.path.join(d, uuid.uuid4().hex), "w"):
            pass
        deadline = time.monotonic() + float(q.get("max", "5"))
        ok = False
        while time.monotonic() < deadline:
            if len(os.listdir(d)) >= n:
                ok = True
                break
            time.sleep(0.01)
        return _json(start_response, {"ok": ok, "pid": os.getpid(),
                                      "worker_id": os.environ.get("HEARTH_WORKER_ID"),
                                      "thread": threading.current_thread().name,
                                      "import_pid": IMPORT_PID,
                                      "multithread": environ.get("wsgi.multithread")})

    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return _Lines(int(q.get("n", "10")), int(q.get("delay_ms", "0")) / 1000.0,
                      q.get("closed"))

    if path == "/big":
        size = int(q["size"])
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(size))])
        block = b"b" * 65536
        return [block[: min(65536, size - off)] for off in range(0, size, 65536)]

    if path == "/errors":
        environ["wsgi.errors"].write(q.get("msg", "") + "\n")
        environ["wsgi.errors"].flush()
        return _respond(start_response, "logged\n")

    if path.startswith("/p/"):
        return _json(start_response, {"path": path})

    if path == "/set-headers":
        # Every query parameter as a response header (hop-by-hop filtering tests).
        pairs = [(k, v) for k, vs in parse_qs(environ.get("QUERY_STRING", "")).items() for v in vs]
        return _respond(start_response, "ok\n", extra=pairs)

    if path == "/status":
        code = int(q.get("code", "200"))
        reason = {204: "No Content", 304: "Not Modified"}.get(code, "Whatever")
        headers = [] if code in (204, 304) else [("Content-Type", "text/plain"),
                                                   ("Content-Length", "0")]
        start_response(f"{code} {reason}", headers)
        return []

    if path == "/crash":
        os._exit(7)

    if path == "/die-once":
        # The first request (per marker file) kills its worker before answering.
        marker = q["marker"]
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return _respond(start_response, f"survived pid={os.getpid()}")
        os.close(fd)
        os._exit(9)

    if path == "/raise":
        if "rid_file" in q:
            with open(q["rid_file"], "w") as f:
                f.write(environ.get("hearth.request_id", ""))
        raise RuntimeError("boom-secret-" + q.get("token", "x"))

    if path == "/raise-late":
        return _raise_late(start_response)

    if path == "/write":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written-")
        return [b"returned"]

    if path == "/file":
        f = open(_HERE, "rb")
        start_response("200 OK", [("Content-Type", "text/x-python"),
                                  ("Content-Length", str(os.path.getsize(_HERE)))])
        return environ["wsgi.file_wrapper"](f, 8192)

    if path == "/excinfo":
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            raise ValueError("handled inside the app")
        except ValueError:
            body = b"recovered\n"
            start_response("503 Service Unavailable", [
                ("Content-Type", "text/plain"), ("Content-Length", str(len(body)))],
                sys.exc_info())
            return [body]

    return _respond(start_response, "not found\n", "404 Not Found")



def create_app():
    """Factory form for `basic:create_app()`."""
    return app
