"""ASGI 3 pieces that do no I/O: detecting an ASGI app, the HTTP scope built from the
daemon's environ block, and the encoding of ``http.response.start`` (docs/asgi.md).

The daemon sends every request as the WSGI environ pairs (docs/worker-protocol.md); the
scope is derived from them, so header names come lowercased from ``HTTP_*`` keys (their
original spelling and repetition are gone: repeated fields arrive joined with ``, ``).
"""

import functools
import http
import inspect

from .wsgi import encode_start

ASGI_VERSION = {"version": "3.0", "spec_version": "2.3"}

WSGI = "wsgi"
ASGI = "asgi"
AUTO = "auto"


def is_asgi(app):
    """True for an ASGI 3 app: a coroutine function, or an object (a class instance, a
    functools.partial of one) whose ``__call__`` is a coroutine function."""
    while isinstance(app, functools.partial):
        app = app.func
    if inspect.iscoroutinefunction(app):
        return True
    if inspect.isfunction(app) or inspect.isclass(app) or inspect.ismethod(app):
        return False
    return inspect.iscoroutinefunction(getattr(app, "__call__", None))


def resolve_interface(requested, app):
    """``wsgi``/``asgi`` as given; ``auto`` decided from the app (None: not loaded yet)."""
    if requested != AUTO:
        return requested
    if app is None:
        return AUTO
    return ASGI if is_asgi(app) else WSGI


def _http_version(protocol):
    if protocol == "HTTP/2" or protocol == "HTTP/2.0":
        return "2"
    if protocol == "HTTP/1.0":
        return "1.0"
    return "1.1"


def _port(text, default):
    try:
        return int(text)
    except (TypeError, ValueError):
        return default


def _decoded(latin1):
    """A percent-decoded path the daemon sent as latin-1 text: its bytes as UTF-8."""
    try:
        return latin1.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return latin1.encode("latin-1", "replace").decode("utf-8", "replace")


def build_scope(env, state=None):
    """The ``http`` scope for one request from the environ pairs (a dict of latin-1 str)."""
    headers = []
    append = headers.append
    for key, value in env.items():
        if key.startswith("HTTP_"):
            append((key[5:].lower().replace("_", "-").encode("latin-1"), value.encode("latin-1")))
    ctype = env.get("CONTENT_TYPE")
    if ctype:
        append((b"content-type", ctype.encode("latin-1")))
    clen = env.get("CONTENT_LENGTH")
    if clen:
        append((b"content-length", clen.encode("latin-1")))
    raw_uri = env.get("RAW_URI") or env.get("REQUEST_URI") or ""
    raw_path = raw_uri.split("?", 1)[0]
    root_path = _decoded(env.get("SCRIPT_NAME", ""))
    path = root_path + _decoded(env.get("PATH_INFO", "")) if root_path else _decoded(env.get("PATH_INFO", "/"))
    addr = env.get("REMOTE_ADDR")
    scope = {
        "type": "http",
        "asgi": ASGI_VERSION,
        "http_version": _http_version(env.get("SERVER_PROTOCOL")),
        "method": env.get("REQUEST_METHOD", "GET"),
        "scheme": env.get("wsgi.url_scheme", "http"),
        "path": path or "/",
        "raw_path": raw_path.encode("latin-1") if raw_path else None,
        "query_string": env.get("QUERY_STRING", "").encode("latin-1"),
        "root_path": root_path,
        "headers": headers,
        "client": (addr, _port(env.get("REMOTE_PORT"), 0)) if addr else None,
        "server": (env.get("SERVER_NAME", ""), _port(env.get("SERVER_PORT"), None)),
        "extensions": {},
    }
    if state is not None:
        scope["state"] = state.copy()
    return scope


def encode_response_start(message):
    """``http.response.start`` -> (RESPONSE_START frame, status code, Content-Length or None).

    Raises TypeError/ValueError for a malformed message (an application error)."""
    status = message.get("status")
    if type(status) is not int:
        raise TypeError("http.response.start 'status' must be an int, not %s" % type(status).__name__)
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    headers = []
    for item in message.get("headers", ()):
        name, value = item
        if not isinstance(name, (bytes, bytearray)) or not isinstance(value, (bytes, bytearray)):
            raise TypeError("response header names and values must be bytes, got %r" % (item,))
        headers.append((bytes(name).decode("latin-1"), bytes(value).decode("latin-1")))
    return encode_start("%d %s" % (status, reason) if reason else str(status), headers)
