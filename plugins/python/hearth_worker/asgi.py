"""ASGI 3 pieces that do no I/O: detecting an ASGI app, the HTTP scope built from the
daemon's environ block, and the encoding of ``http.response.start`` (docs/asgi.md).

The daemon sends every request as the WSGI environ pairs (docs/worker-protocol.md); the
scope is derived from them, so header names come lowercased from ``HTTP_*`` keys (their
original spelling and repetition are gone: repeated fields arrive joined with ``, ``).
"""

import functools
import http
import inspect
import operator

from .speedups import SPEEDUPS
from .wsgi import cache_put, encode_start

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


_HTTP_VERSIONS = {"HTTP/2": "2", "HTTP/2.0": "2", "HTTP/1.0": "1.0"}  # anything else: "1.1"


def _http_version(protocol):
    return _HTTP_VERSIONS.get(protocol, "1.1")


def _port(text, default):
    try:
        return int(text)
    except (TypeError, ValueError):
        return default


def _decoded(latin1):
    """A percent-decoded path the daemon sent as latin-1 text: its bytes as UTF-8."""
    if latin1.isascii():
        return latin1  # the common case: the same text either way
    try:
        return latin1.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return latin1.encode("latin-1", "replace").decode("utf-8", "replace")


# Environ key -> ASGI header name (``HTTP_X_FOO`` -> ``b"x-foo"``), or b"" for a key that
# is not a header: the same few keys arrive with every request, so each is translated once.
# Bounded (header names come from clients): cleared when full.
_HEADER_NAMES = {}
_HEADER_NAMES_MAX = 1024


def _header_name(key):
    name = _HEADER_NAMES.get(key)
    if name is None:
        name = key[5:].lower().replace("_", "-").encode("latin-1") if key.startswith("HTTP_") else b""
        cache_put(_HEADER_NAMES, key, name, _HEADER_NAMES_MAX)
    return name


# The environ's keys, in order (a tuple) -> ((position, header name), ...) of its HTTP_*
# keys. Requests from one kind of client carry the same keys in the same order, so the
# headers are picked by position instead of testing every key. Bounded like _HEADER_NAMES.
_HEADER_PLANS = {}
_HEADER_PLANS_MAX = 256


def _header_plan(keys):
    plan = tuple((i, name) for i, key in enumerate(keys) if (name := _header_name(key)))
    cache_put(_HEADER_PLANS, keys, plan, _HEADER_PLANS_MAX)
    return plan


# (SERVER_NAME, SERVER_PORT) -> the scope's ``server``: one or two per app.
_SERVERS = {}


def _server(name, port):
    key = (name, port)
    server = _SERVERS.get(key)
    if server is None:
        server = (name, _port(port, None))
        cache_put(_SERVERS, key, server, 64)
    return server


# The variables hearthd always sends (docs/worker-protocol.md), read in one call; an environ
# without one of them (tests, tools) takes the env.get() path.
_FIELDS = operator.itemgetter("REQUEST_METHOD", "wsgi.url_scheme", "SERVER_PROTOCOL", "SCRIPT_NAME",
                              "PATH_INFO", "QUERY_STRING", "RAW_URI", "SERVER_NAME", "SERVER_PORT")


def build_scope(env, state=None):
    """The ``http`` scope for one request from the environ pairs (a dict of latin-1 str)."""
    keys = tuple(env)
    plan = _HEADER_PLANS.get(keys)
    if plan is None:
        plan = _header_plan(keys)
    if plan:
        values = list(env.values())
        headers = [(name, values[i].encode("latin-1")) for i, name in plan]
    else:
        headers = []
    get = env.get
    ctype = get("CONTENT_TYPE")
    if ctype:
        headers.append((b"content-type", ctype.encode("latin-1")))
    clen = get("CONTENT_LENGTH")
    if clen:
        headers.append((b"content-length", clen.encode("latin-1")))
    try:
        method, scheme, protocol, root_path, path_info, query, raw_uri, sname, sport = _FIELDS(env)
    except KeyError:
        method = get("REQUEST_METHOD", "GET")
        scheme = get("wsgi.url_scheme", "http")
        protocol = get("SERVER_PROTOCOL")
        root_path = get("SCRIPT_NAME", "")
        path_info = get("PATH_INFO")
        query = get("QUERY_STRING", "")
        raw_uri = get("RAW_URI")
        sname = get("SERVER_NAME", "")
        sport = get("SERVER_PORT")
    if not raw_uri:
        raw_uri = get("REQUEST_URI") or ""
    q = raw_uri.find("?")
    raw_path = raw_uri if q < 0 else raw_uri[:q]
    if root_path:
        root_path = _decoded(root_path)
        path = root_path + _decoded(path_info or "")
    else:
        path = _decoded("/" if path_info is None else path_info)
    addr = get("REMOTE_ADDR")
    scope = {
        "type": "http",
        "asgi": ASGI_VERSION,
        "http_version": _HTTP_VERSIONS.get(protocol, "1.1"),
        "method": method,
        "scheme": scheme,
        "path": path or "/",
        "raw_path": raw_path.encode("latin-1") if raw_path else None,
        "query_string": query.encode("latin-1"),
        "root_path": root_path,
        "headers": headers,
        "client": (addr, _port(get("REMOTE_PORT"), 0)) if addr else None,
        "server": _server(sname, sport),
        "extensions": {},
    }
    if state is not None:
        scope["state"] = state.copy()
    return scope


# The C accelerator's build_scope returns the same scope (the common case: every key and
# value a latin-1 str and every _FIELDS variable present) and calls this one for the rest.
build_scope_py = build_scope
if SPEEDUPS is not None:
    SPEEDUPS.scope_setup(ASGI_VERSION, build_scope_py)
    build_scope = SPEEDUPS.build_scope


_PHRASES = {s.value: s.phrase for s in http.HTTPStatus}
# (status, *headers) -> encode_response_start()'s result: an app answers with the same few
# heads over and over (a hit is the same answer: the key is the exact status and bytes).
_START_CACHE = {}
_START_CACHE_MAX = 512


def encode_response_start(message):
    """``http.response.start`` -> (RESPONSE_START frame, status code, Content-Length or None).

    Raises TypeError/ValueError for a malformed message (an application error)."""
    status = message.get("status")
    if type(status) is not int:
        raise TypeError("http.response.start 'status' must be an int, not %s" % type(status).__name__)
    headers = message.get("headers", ())
    key = hit = None
    if type(headers) is list or type(headers) is tuple:  # not an iterator: read once below
        try:
            key = (status, *headers)  # a bytearray or a list in there: unhashable, not cached
            hit = _START_CACHE.get(key)
        except TypeError:
            key = None
    if hit is not None:
        return hit
    result = _encode_response_start(status, headers)
    if key is not None:
        cache_put(_START_CACHE, key, result, _START_CACHE_MAX)
    return result


def _encode_response_start(status, headers):
    reason = _PHRASES.get(status, "")
    items = []
    for item in headers:
        name, value = item
        if not isinstance(name, (bytes, bytearray)) or not isinstance(value, (bytes, bytearray)):
            raise TypeError("response header names and values must be bytes, got %r" % (item,))
        items.append((bytes(name).decode("latin-1"), bytes(value).decode("latin-1")))
    return encode_start("%d %s" % (status, reason) if reason else str(status), items)
