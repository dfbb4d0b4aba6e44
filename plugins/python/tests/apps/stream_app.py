"""Streaming apps for plugins/python/tests/test_streaming.py: a WSGI app (``wsgi``) and a
raw ASGI app (``app``). Records go to $HEARTH_TEST_RECORD (a file path), one line each."""
import asyncio
import os
import sys

if os.environ.get("HEARTH_TEST_NO_UVLOOP"):
    sys.modules["uvloop"] = None  # "import uvloop" raises ImportError: the asyncio fallback


def _record(line):
    path = os.environ.get("HEARTH_TEST_RECORD")
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")


def wsgi(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/sse":
        def gen():
            try:
                for i in range(1000):
                    yield b"data: %d\n\n" % i
            finally:
                _record("closed")
        start_response("200 OK", [("Content-Type", "text/event-stream; charset=utf-8")])
        return gen()
    if path == "/accel":
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Accel-Buffering", "no"),
                                  ("X-Other", "1")])
        return iter([b"a", b"b"])
    if path == "/record":
        _record("ran " + environ.get("QUERY_STRING", ""))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"plain"]
    if path == "/accel-yes":
        start_response("200 OK", [("X-Accel-Buffering", "yes"), ("Content-Type", "text/plain")])
        return [b"buffered"]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"plain"]


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        return  # lifespan = "auto": unsupported, fine
    path = scope["path"]
    if path == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        for i in range(3):
            await send({"type": "http.response.body", "body": b"c%d" % i, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    if path == "/wait":
        while (await receive())["type"] != "http.disconnect":
            pass
        _record("disconnect")
        return
    if path == "/stream-wait":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"first", "more_body": True})
        while (await receive())["type"] != "http.disconnect":
            pass
        await send({"type": "http.response.body", "body": b"ignored", "more_body": True})
        _record("disconnect, send was a no-op")
        return
    if path == "/stream-only":
        # Streams without ever calling receive(): send() turns into a no-op once gone.
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        for i in range(200):
            await send({"type": "http.response.body", "body": b"x", "more_body": True})
            await asyncio.sleep(0.01)
        _record("stream-only done")
        await send({"type": "http.response.body", "body": b""})
        return
    if path == "/loop":
        loop = type(asyncio.get_running_loop()).__module__
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": loop.encode()})
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})
