"""The WSGI app the runtime tests drive. One route per behaviour under test.

With HEARTH_TEST_VALIDATE=1 every route (except those in UNVALIDATED) is wrapped in
wsgiref.validate.validator and WSGIWarning is turned into an error, so any protocol slip by
the worker or the app shows up as a 500/abort in the test.
"""

import hashlib
import io
import json
import os
import sys
import threading
import time
import warnings
from wsgiref.validate import WSGIWarning, validator

VALIDATE = os.environ.get("HEARTH_TEST_VALIDATE") == "1"
if VALIDATE:
    warnings.simplefilter("error", WSGIWarning)

STATS = {"closed": 0, "file_closed": 0, "requests": 0}
EVENT = threading.Event()
TEXT = [("Content-Type", "text/plain")]


def _ok(start_response, body, extra=()):
    start_response("200 OK", TEXT + [("Content-Length", str(len(body)))] + list(extra))
    return [body]


def hello(environ, start_response):
    return _ok(start_response, b"hello world")


def env(environ, start_response):
    out = {}
    for k, v in environ.items():
        out[k] = v if isinstance(v, str) else repr(type(v).__name__) + ":" + repr(v)[:40]
    out["os.HEARTH_WORKER_ID"] = os.environ.get("HEARTH_WORKER_ID")
    out["pid"] = os.getpid()
    out["multithread"] = environ["wsgi.multithread"]
    out["multiprocess"] = environ["wsgi.multiprocess"]
    out["run_once"] = environ["wsgi.run_once"]
    out["version"] = list(environ["wsgi.version"])
    out["input_terminated"] = environ.get("wsgi.input_terminated")
    out["sys_path_head"] = sys.path[:3]
    out["cwd"] = os.getcwd()
    return _ok(start_response, json.dumps(out).encode())


def _length(environ):
    return int(environ.get("CONTENT_LENGTH") or 0)


def read_all(environ, start_response):
    # read() without a size: PEP 3333 + wsgi.input_terminated allow it, validator does not.
    data = environ["wsgi.input"].read()
    more = environ["wsgi.input"].read()
    return _ok(start_response, data + b"|" + more)


def read_n(environ, start_response):
    n = int(environ.get("QUERY_STRING") or 7)
    inp = environ["wsgi.input"]
    parts = []
    while True:
        chunk = inp.read(n)
        if not chunk:
            break
        parts.append(chunk)
    body = json.dumps({"sizes": [len(p) for p in parts],
                       "sha": hashlib.sha256(b"".join(parts)).hexdigest()}).encode()
    return _ok(start_response, body)


def echo(environ, start_response):
    data = environ["wsgi.input"].read(_length(environ))
    return _ok(start_response, data)


def readline(environ, start_response):
    size = environ.get("QUERY_STRING")
    inp = environ["wsgi.input"]
    lines = []
    while True:
        line = inp.readline(int(size)) if size else inp.readline()
        if not line:
            break
        lines.append(line.decode("latin-1"))
    return _ok(start_response, json.dumps(lines).encode())


def readlines(environ, start_response):
    lines = environ["wsgi.input"].readlines()
    return _ok(start_response, json.dumps([l.decode("latin-1") for l in lines]).encode())


def iterate(environ, start_response):
    lines = [l.decode("latin-1") for l in environ["wsgi.input"]]
    return _ok(start_response, json.dumps(lines).encode())


def partial(environ, start_response):
    return _ok(start_response, environ["wsgi.input"].read(3))


def stream(environ, start_response):
    start_response("200 OK", TEXT)
    yield b"a"
    yield b""
    yield b"bb"
    yield b"ccc"


def lazy_start(environ, start_response):
    # start_response is called from inside the generator; an empty chunk comes first.
    def gen():
        start_response("201 Created", TEXT)
        yield b""
        yield b"late"
    return gen()


def write_callable(environ, start_response):
    write = start_response("200 OK", TEXT)
    write(b"one,")
    write(b"")
    write(b"two,")
    return [b"three"]


def multi(environ, start_response):
    start_response("200 OK", TEXT)
    return [b"a", b"", b"bc"]


def as_tuple(environ, start_response):
    start_response("200 OK", TEXT + [("Content-Length", "4")])
    return (b"tu", b"ple")


def many(environ, start_response):
    start_response("200 OK", TEXT)
    return [b"%d," % i for i in range(50)]


def empty(environ, start_response):
    start_response("204 No Content", [])
    return []


def empty_200(environ, start_response):
    start_response("200 OK", TEXT + [("Content-Length", "0")])
    return []


def exc_info_before(environ, start_response):
    start_response("200 OK", TEXT)
    try:
        raise ValueError("changed my mind")
    except ValueError:
        start_response("503 Service Unavailable", TEXT, sys.exc_info())
    return [b"sorry"]


def exc_info_after(environ, start_response):
    start_response("200 OK", TEXT)
    yield b"partial"
    try:
        raise ValueError("too late")
    except ValueError:
        start_response("500 Internal Server Error", TEXT, sys.exc_info())
    yield b"never"


class _TrackedFile(io.BytesIO):
    def close(self):
        STATS["file_closed"] += 1
        super().close()


def file_wrapper(environ, start_response):
    start_response("200 OK", TEXT)
    return environ["wsgi.file_wrapper"](_TrackedFile(b"0123456789" * 3), 4)


class _Closing:
    def __init__(self, fail_at=None):
        self.fail_at = fail_at

    def __iter__(self):
        yield b"x"
        if self.fail_at == "iter":
            raise RuntimeError("boom in iteration")
        yield b"y"

    def close(self):
        STATS["closed"] += 1


def closing(environ, start_response):
    start_response("200 OK", TEXT)
    return _Closing(environ.get("QUERY_STRING") or None)


def stats(environ, start_response):
    return _ok(start_response, json.dumps(STATS).encode())


def raise_before(environ, start_response):
    raise RuntimeError("boom-before-start")


def raise_after(environ, start_response):
    start_response("200 OK", TEXT)
    yield b"first"
    raise RuntimeError("boom-after-start")


def raise_before_body(environ, start_response):
    start_response("200 OK", TEXT)
    raise RuntimeError("boom-before-body")
    yield b"never"  # pragma: no cover


BAD = {
    "status_int": lambda sr: sr(200, TEXT),
    "status_short": lambda sr: sr("OK", TEXT),
    "headers_tuple": lambda sr: sr("200 OK", tuple(TEXT)),
    "header_value_int": lambda sr: sr("200 OK", TEXT + [("X-N", 5)]),
    "header_newline": lambda sr: sr("200 OK", TEXT + [("X-Bad", "a\r\nSet-Cookie: x=1")]),
    "header_nul": lambda sr: sr("200 OK", TEXT + [("X-Bad", "a\0b")]),
    "header_not_latin1": lambda sr: sr("200 OK", TEXT + [("X-Bad", "\u20ac")]),
    "body_str": None,
    "no_start": None,
}


def bad(environ, start_response):
    kind = environ["QUERY_STRING"]
    if kind == "body_str":
        start_response("200 OK", TEXT)
        return ["text, not bytes"]
    if kind == "no_start":
        return [b"forgot start_response"]
    BAD[kind](start_response)
    return [b"should not be sent"]


def cl_over(environ, start_response):
    start_response("200 OK", TEXT + [("Content-Length", "5")])
    return [b"0123456789"]


def cl_over_stream(environ, start_response):
    start_response("200 OK", TEXT + [("Content-Length", "5")])
    yield b"012"
    yield b"345"
    yield b"6789"


def cl_short(environ, start_response):
    start_response("200 OK", TEXT + [("Content-Length", "10")])
    return [b"01234"]


def head(environ, start_response):
    start_response("200 OK", TEXT + [("Content-Length", "100")])
    return []


def errors(environ, start_response):
    err = environ["wsgi.errors"]
    err.write("hello from the app\n")
    err.write("partial ")
    err.writelines(["line two\n"])
    err.flush()
    return _ok(start_response, b"logged")


def sleep(environ, start_response):
    environ["wsgi.errors"].write("sleeping-now\n")
    environ["wsgi.errors"].flush()
    time.sleep(float(environ["QUERY_STRING"] or 0.5))
    return _ok(start_response, b"slept")


def wait(environ, start_response):
    ok = EVENT.wait(5)
    EVENT.clear()
    return _ok(start_response, b"waited" if ok else b"timeout")


def set_event(environ, start_response):
    EVENT.set()
    return _ok(start_response, b"set")


def big(environ, start_response):
    n = int(environ["QUERY_STRING"] or 1 << 20)
    body = bytes(range(256)) * (n // 256)
    return _ok(start_response, body)


def big_stream(environ, start_response):
    start_response("200 OK", TEXT)
    chunk = b"z" * (300 * 1024)
    for _ in range(4):
        yield chunk


def not_found(environ, start_response):
    start_response("404 Not Found", TEXT)
    return [b"no route " + environ["PATH_INFO"].encode("latin-1")]


ROUTES = {
    "/hello": hello, "/env": env, "/read_all": read_all, "/read_n": read_n, "/echo": echo,
    "/readline": readline, "/readlines": readlines, "/iter": iterate, "/partial": partial,
    "/stream": stream, "/lazy_start": lazy_start, "/write": write_callable,
    "/multi": multi, "/tuple": as_tuple, "/many": many, "/empty": empty, "/empty_200": empty_200,
    "/exc_info_before": exc_info_before, "/exc_info_after": exc_info_after,
    "/file_wrapper": file_wrapper, "/closing": closing, "/stats": stats,
    "/raise_before": raise_before, "/raise_after": raise_after,
    "/raise_before_body": raise_before_body, "/bad": bad, "/cl_over": cl_over,
    "/cl_over_stream": cl_over_stream, "/cl_short": cl_short, "/head": head,
    "/errors": errors, "/sleep": sleep, "/wait": wait, "/set": set_event, "/big": big,
    "/big_stream": big_stream,
}
# Routes the validator cannot wrap, and why.
UNVALIDATED = {
    "/read_all": "wsgiref's InputWrapper asserts read() gets exactly one argument",
    "/bad": "the validator rejects the bad status/headers itself, before the worker sees them",
}
VALIDATED = {path: validator(app) for path, app in ROUTES.items()}


def application(environ, start_response):
    path = environ["PATH_INFO"]
    STATS["requests"] += 1
    if VALIDATE and path not in UNVALIDATED:
        app = VALIDATED.get(path)
        return (app or validator(not_found))(environ, start_response)
    return ROUTES.get(path, not_found)(environ, start_response)
