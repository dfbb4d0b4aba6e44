"""Raw ASGI 3 apps for the runtime's tests (no framework).

HEARTH_TEST_LIFESPAN: "fail" answers lifespan.startup.failed, "raise" raises on the
lifespan scope (an app without lifespan support), "" completes; HEARTH_TEST_LIFESPAN_LOG
names a file that gets "startup <pid>" / "shutdown <pid>" lines.
"""

import asyncio
import json
import os
import sys

if os.environ.get("HEARTH_TEST_NO_UVLOOP"):
    sys.modules["uvloop"] = None  # "import uvloop" raises ImportError: the asyncio fallback

STATE = {"started": False}


def _log(event):
    path = os.environ.get("HEARTH_TEST_LIFESPAN_LOG")
    if path:
        with open(path, "a") as f:
            f.write("%s %d\n" % (event, os.getpid()))


async def lifespan(receive, send):
    mode = os.environ.get("HEARTH_TEST_LIFESPAN", "")
    if mode == "raise":
        raise RuntimeError("this app has no lifespan")
    while True:
        msg = await receive()
        if msg["type"] == "lifespan.startup":
            if mode == "fail":
                await send({"type": "lifespan.startup.failed", "message": "database unreachable (test)"})
                return
            STATE["started"] = True
            _log("startup")
            await send({"type": "lifespan.startup.complete"})
        elif msg["type"] == "lifespan.shutdown":
            _log("shutdown")
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _body(receive):
    chunks = []
    events = 0
    while True:
        msg = await receive()
        assert msg["type"] == "http.request", msg
        events += 1
        chunks.append(msg["body"])
        if not msg.get("more_body"):
            return b"".join(chunks), events


async def _respond(send, status, body, ctype=b"text/plain", extra=()):
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", ctype), (b"content-length", str(len(body)).encode())] + list(extra)})
    await send({"type": "http.response.body", "body": body})


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        return await lifespan(receive, send)
    assert scope["type"] == "http"
    path = scope["path"]
    if path == "/scope":
        out = {k: v for k, v in scope.items() if k not in ("headers", "raw_path", "query_string", "state")}
        out["headers"] = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]]
        out["raw_path"] = scope["raw_path"].decode("latin-1") if scope["raw_path"] is not None else None
        out["query_string"] = scope["query_string"].decode("latin-1")
        out["started"] = STATE["started"]
        out["pid"] = os.getpid()
        out["loop"] = type(asyncio.get_running_loop()).__module__
        return await _respond(send, 200, json.dumps(out).encode(), b"application/json")
    if path == "/echo":
        body, events = await _body(receive)
        return await _respond(send, 200, body, extra=[(b"x-events", str(events).encode())])
    if path == "/sleep":
        await asyncio.sleep(float(scope["query_string"] or b"0.2"))
        return await _respond(send, 200, b"slept %d\n" % os.getpid())
    if path == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        for i in range(3):
            await send({"type": "http.response.body", "body": b"chunk%d\n" % i, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    if path == "/disconnect":
        await _body(receive)
        await _respond(send, 200, b"ok")
        msg = await receive()
        assert msg["type"] == "http.disconnect", msg
        return
    if path == "/boom":
        raise ValueError("boom before the response")
    if path == "/boom-after":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        raise ValueError("boom after the response started")
    if path == "/no-response":
        return
    if path == "/short":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"10")]})
        await send({"type": "http.response.body", "body": b"abc"})
        return
    return await _respond(send, 404, b"not found\n")


class AppObject:
    """An ASGI app that is an instance with an async __call__."""

    async def __call__(self, scope, receive, send):
        return await app(scope, receive, send)


app_object = AppObject()


def wsgi_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"wsgi\n"]
