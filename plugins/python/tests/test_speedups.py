"""The C accelerator (hearth_worker._speedups) against the pure-Python functions it replaces:
the same inputs (fixed cases and a seeded random generator) give equal results, in the same
order, and the same exception types. Skipped when the extension is not built for this
Python (no python3-dev, or another interpreter); the loader's choices are tested always."""

import os
import random
import subprocess
import sys

import pytest

from hearth_worker import asgi, protocol, speedups

C = speedups.SPEEDUPS
if C is None and os.environ.get("HEARTH_SPEEDUPS_DIR"):
    C = speedups._load_from(os.environ["HEARTH_SPEEDUPS_DIR"])
if C is not None:  # loaded here with HEARTH_NO_SPEEDUPS=1: asgi.py did not set it up
    C.scope_setup(asgi.ASGI_VERSION, asgi.build_scope_py)
needs_c = pytest.mark.skipif(C is None, reason="hearth_worker._speedups is not built for this Python")

PY_DECODE = protocol.decode_environ_py
PY_SCOPE = asgi.build_scope_py
SEED = 1417


def outcome(func, *args):
    """('ok', result as comparable data) or ('raise', exception type)."""
    try:
        result = func(*args)
    except Exception as exc:  # noqa: BLE001 - the type is what is compared
        return ("raise", type(exc))
    if isinstance(result, dict):
        return ("ok", list(result.items()))
    return ("ok", result)


# -- decode_environ ----------------------------------------------------------------------

FIXED_BLOCKS = [
    b"", b"\0", b"\0\0", b"\0\0\0", b"a", b"a\0", b"a\0b", b"a\0b\0", b"a\0b\0c", b"a\0b\0c\0d",
    b"k\0\0k\0v2", b"k\0v\0k\0w", b"\xff\0\xe9\xc3\xa9\0\x80\0\x00",
    b"REQUEST_METHOD\0GET\0PATH_INFO\0/caf\xc3\xa9\0QUERY_STRING\0\0HTTP_HOST\0h:1",
    b"x" * 100 + b"\0" + b"y" * 70000,
]


@needs_c
@pytest.mark.parametrize("block", FIXED_BLOCKS)
def test_decode_environ_fixed(block):
    for buf in (block, bytearray(block), memoryview(block), memoryview(bytearray(b"zz" + block))[2:]):
        for base in (None, {}, {"wsgi.version": (1, 0), "k": "base"}):
            assert outcome(C.decode_environ, buf, 0, len(buf), base) == outcome(PY_DECODE, buf, 0, len(buf), base)


@needs_c
@pytest.mark.parametrize("args", [
    (b"a\0b\0c\0d", 2, 3), (b"a\0b\0c\0d", 2, 100), (b"a\0b", 50, 1), (b"a\0b", 3, 0),
    (b"a\0b", 0, 2 ** 40), (b"a\0b", 2 ** 62, 2 ** 62), (b"a\0b", 2 ** 70, 1), (b"a\0b", 1, 2 ** 80),
    (b"a\0b", -1, 2), (b"a\0b", 0, -1), (b"a\0b", -(2 ** 80), 1), (b"a\0b", True, True),
    (b"a\0b", 1.0, 2), (b"a\0b", 0, 2.5), (b"a\0b", -1.0, 2), (b"a\0b", "0", 2), (b"a\0b", 0, None),
    (b"a\0b", 0, 3, []), (b"a\0b", 0, 3, "x"), (b"a\0b", 0, 3, {"a": "z", "q": "r"}),
    (12, 0, 3), (None, 0, 3), ("a\0b", 0, 3), (12, -1, 3), (b"a\0b", 0, 3, None),
])
def test_decode_environ_arguments(args):
    assert outcome(C.decode_environ, *args) == outcome(PY_DECODE, *args)


def random_block(rng):
    """Environ-like blocks: pairs of odd latin-1 bytes, sometimes truncated or with NULs
    where a value should be, sometimes huge."""
    parts = []
    for _ in range(rng.randrange(0, 24)):
        for _ in range(2):
            kind = rng.random()
            if kind < 0.2:
                parts.append(b"")
            elif kind < 0.5:
                parts.append(rng.choice([b"HTTP_HOST", b"PATH_INFO", b"REQUEST_METHOD", b"HTTP_X_A", b"k"]))
            elif kind < 0.98:
                parts.append(bytes(rng.randrange(1, 256) for _ in range(rng.randrange(0, 40))))
            else:
                parts.append(bytes([rng.randrange(256)]) * rng.randrange(1000, 100000))
    block = b"\0".join(parts)
    cut = rng.random()
    if cut < 0.2 and block:
        block = block[:rng.randrange(len(block))]  # truncated
    elif cut < 0.3:
        block += b"\0" * rng.randrange(1, 4)
    return block


@needs_c
def test_decode_environ_random():
    rng = random.Random(SEED)
    for _ in range(3000):
        block = random_block(rng)
        pad = rng.randrange(0, 4)
        buf = bytearray(b"\x01" * pad + block + b"\x02" * rng.randrange(0, 4))
        length = len(block) if rng.random() < 0.8 else rng.randrange(0, len(block) + 8)
        base = rng.choice([None, {}, {"wsgi.version": (1, 0), "PATH_INFO": "old"}])
        assert outcome(C.decode_environ, buf, pad, length, base) == outcome(PY_DECODE, buf, pad, length, base)


@needs_c
def test_decode_environ_copies_base():
    base = {"k": "v"}
    env = C.decode_environ(b"a\0b", 0, 3, base)
    assert env == {"k": "v", "a": "b"} and base == {"k": "v"}


# -- build_scope -------------------------------------------------------------------------

WRK = [
    ("wsgi.url_scheme", "http"), ("REQUEST_METHOD", "GET"), ("SCRIPT_NAME", ""), ("PATH_INFO", "/"),
    ("QUERY_STRING", ""), ("RAW_URI", "/"), ("REQUEST_URI", "/"), ("SERVER_PROTOCOL", "HTTP/1.1"),
    ("SERVER_SOFTWARE", "hearth/0.1.0"), ("HTTP_HOST", "127.0.0.1:8000"), ("SERVER_NAME", "127.0.0.1"),
    ("SERVER_PORT", "8000"), ("REMOTE_ADDR", "127.0.0.1"), ("REMOTE_PORT", "44064"),
    ("HTTP_X_REQUEST_ID", "7cfa3c64-1"), ("hearth.request_id", "7cfa3c64-1"),
]

ODD_VALUES = ["", " ", "0", "  42 ", "-1", "+7", "1_000", "12a", "99999999999999999999999", "\xb2", "\xe9",
              "/caf\xc3\xa9", "/\xff\xfe", "/a?b", "?", "/p?q=1?r", "HTTP/2", "HTTP/2.0", "HTTP/1.0",
              "HTTP/1.1", "http/2", "\x00", "a, b", "\xc3", "/\xc3\xa9/\xc3"]
ODD_KEYS = ["HTTP_", "HTTP_X", "HTTP_X_Y_Z", "HTTP_\xc0\xdf", "HTTP_\xb5", "HTTPX", "http_host", "HTTP__",
            "CONTENT_TYPE", "CONTENT_LENGTH", "HTTP_CONTENT_TYPE", "REQUEST_URI", "RAW_URI", "REMOTE_ADDR",
            "REMOTE_PORT", "SERVER_PORT", "SCRIPT_NAME", "PATH_INFO", "SERVER_PROTOCOL", "x\xff"]


def scope_outcome(func, env, state):
    result = outcome(func, dict(env), state)
    if result[0] == "ok":
        items = result[1]
        assert dict(items)["asgi"] is asgi.ASGI_VERSION
        if state is not None:
            assert dict(items)["state"] is not state and dict(items)["state"] == state
    return result


@needs_c
def test_build_scope_wrk_request():
    env = dict(WRK)
    assert scope_outcome(C.build_scope, env, None) == scope_outcome(PY_SCOPE, env, None)
    state = {"db": object()}
    assert scope_outcome(C.build_scope, env, state) == scope_outcome(PY_SCOPE, env, state)


@needs_c
@pytest.mark.parametrize("env", [
    {}, {"REQUEST_METHOD": "GET"}, {k: v for k, v in WRK if k != "RAW_URI"},
    {k: v for k, v in WRK if k != "SERVER_PORT"}, dict(WRK, PATH_INFO=None), dict(WRK, REMOTE_PORT=None),
    dict(WRK, HTTP_X_EURO="\u20ac"), dict(WRK, PATH_INFO="/\u20ac"), {**dict(WRK), 5: "x"},
    dict(WRK, REMOTE_PORT="\u0663"), dict(WRK, HTTP_HOST=b"bytes"),
])
def test_build_scope_uncommon_inputs(env):
    for state in (None, {"a": 1}):
        assert scope_outcome(C.build_scope, env, state) == scope_outcome(PY_SCOPE, env, state)


@needs_c
def test_build_scope_not_a_dict():
    for env in ([("a", "b")], None, "x"):
        assert outcome(C.build_scope, env) == outcome(PY_SCOPE, env)
    assert outcome(C.build_scope, dict(WRK), "no copy()") == outcome(PY_SCOPE, dict(WRK), "no copy()")
    assert outcome(C.build_scope) == outcome(PY_SCOPE)
    assert C.build_scope(env=dict(WRK), state={"k": 1}) == PY_SCOPE(env=dict(WRK), state={"k": 1})


@needs_c
def test_decode_environ_keywords():
    assert outcome(C.decode_environ, b"a\0b") == outcome(PY_DECODE, b"a\0b")
    assert (C.decode_environ(buf=b"a\0b", start=0, length=3, base={"k": "v"})
            == PY_DECODE(buf=b"a\0b", start=0, length=3, base={"k": "v"}))


def random_env(rng):
    env = [(k, v) for k, v in WRK if rng.random() < 0.97]
    for _ in range(rng.randrange(0, 8)):
        key = rng.choice(ODD_KEYS + ["HTTP_" + "".join(rng.choice("ABC_x\xe9") for _ in range(rng.randrange(0, 6)))])
        value = rng.choice(ODD_VALUES + ["".join(chr(rng.randrange(1, 256)) for _ in range(rng.randrange(0, 12)))])
        env.insert(rng.randrange(len(env) + 1), (key, value))
    for _ in range(rng.randrange(0, 3)):
        i = rng.randrange(len(env)) if env else 0
        if env:
            env[i] = (env[i][0], rng.choice(ODD_VALUES))
    # Through the wire format, as the worker gets it (a NUL in a value shifts the pairs).
    block = protocol.encode_pairs(env)
    return PY_DECODE(block, 0, len(block))


@needs_c
def test_build_scope_random():
    rng = random.Random(SEED)
    for _ in range(3000):
        env = random_env(rng)
        state = rng.choice([None, {}, {"k": [1]}])
        assert scope_outcome(C.build_scope, env, state) == scope_outcome(PY_SCOPE, env, state)


@needs_c
def test_build_scope_header_name_cache_is_bounded():
    env = dict(WRK)
    for i in range(3000):  # more distinct names than the cache holds: still the same scopes
        env["HTTP_X_%d" % i] = "v"
        if i % 500 == 0:
            assert scope_outcome(C.build_scope, env, None) == scope_outcome(PY_SCOPE, env, None)


# -- the loader --------------------------------------------------------------------------

def _describe(extra_env):
    env = dict(os.environ, **extra_env)
    code = ("import sys; sys.path.insert(0, %r); from hearth_worker import speedups, protocol; "
            "print(speedups.describe()); print(type(protocol.decode_environ).__name__)"
            % os.path.dirname(os.path.dirname(protocol.__file__)))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


def test_no_speedups_forces_pure_python():
    line, kind = _describe({"HEARTH_NO_SPEEDUPS": "1"})
    assert "pure Python (HEARTH_NO_SPEEDUPS=1)" in line and kind == "function"


def test_missing_extension_is_pure_python(tmp_path):
    line, kind = _describe({"HEARTH_NO_SPEEDUPS": "", "HEARTH_SPEEDUPS_DIR": str(tmp_path)})
    assert kind == "function" and "pure Python" in line


def test_damaged_extension_is_pure_python(tmp_path):
    import importlib.machinery
    (tmp_path / ("_speedups" + importlib.machinery.EXTENSION_SUFFIXES[0])).write_bytes(b"not an ELF file")
    line, kind = _describe({"HEARTH_NO_SPEEDUPS": "", "HEARTH_SPEEDUPS_DIR": str(tmp_path)})
    assert kind == "function" and "did not load" in line


@needs_c
def test_built_extension_is_used():
    line, kind = _describe({"HEARTH_NO_SPEEDUPS": "", "HEARTH_SPEEDUPS_DIR": os.path.dirname(C.__file__)})
    assert kind == "builtin_function_or_method" and "C accelerator" in line
