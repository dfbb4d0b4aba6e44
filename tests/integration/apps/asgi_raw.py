"""A raw ASGI 3 app (no framework) for tests/integration/test_asgi.py.

Endpoints: /scope (the scope as JSON), /echo (POST body back), /sleep?S (awaits S
seconds, default 0.2), /boom (raises before responding), / ("version=V pid=P").
HEARTH_TEST_STARTUP_FAIL=1: lifespan.startup.failed with a marker message.
"""
import asyncio
import json
import os

_VERSION_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "VERSION")
try:
    with open(_VERSION_FILE) as _f:
        VERSION = _f.read().strip()
except FileNotFoundError:
    VERSION = "unversioned"


async def _lifespan(receive, send):
    while True:
        msg = await receive()
        if msg["type"] == "lifespan.startup":
            if os.environ.get("HEARTH_TEST_STARTUP_FAIL"):
                await send({"type": "lifespan.startup.failed",
                            "message": "asgi-startup-failure-marker: cannot reach the database"})
                return
            await send({"type": "lifespan.startup.complete"})
        elif msg["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _send(send, status, body, ctype=b"text/plain"):
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", ctype), (b"content-length", b"%d" % len(body))]})
    await send({"type": "http.response.body", "body": body})


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        return await _lifespan(receive, send)
    path = scope["path"]
    if path == "/scope":
        out = {k: v for k, v in scope.items() if k not in ("headers", "raw_path", "query_string", "state")}
        out["headers"] = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]]
        out["raw_path"] = scope["raw_path"].decode("latin-1")
        out["query_string"] = scope["query_string"].decode("latin-1")
        return await _send(send, 200, json.dumps(out).encode(), b"application/json")
    if path == "/echo":
        chunks = []
        while True:
            msg = await receive()
            chunks.append(msg.get("body", b""))
            if not msg.get("more_body"):
                break
        return await _send(send, 200, b"".join(chunks))
    if path == "/sleep":
        await asyncio.sleep(float(scope["query_string"] or b"0.2"))
        return await _send(send, 200, b"slept\n")
    if path == "/boom":
        raise RuntimeError("asgi-boom-marker")
    return await _send(send, 200, ("version=%s pid=%d\n" % (VERSION, os.getpid())).encode())
