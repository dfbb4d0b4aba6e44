"""ASGI streaming responses and http.disconnect for tests/integration/test_streaming.py.

Events carry the app's time.monotonic() when sent (one clock for every process).

  /sse?n=N&gap=S   a raw ASGI stream: N events, each an http.response.body with
                   more_body=True, S seconds apart (the first after S)
  /wait?id=ID      sends nothing: writes "waiting" to $HEARTH_TEST_RECORD/ID, awaits
                   receive() until http.disconnect, writes "disconnect" and returns
                   without a response
  /until_gone?id=ID  streams a chunk every 50 ms (at most 600) while a second task
                   listens for http.disconnect; writes "stopped <i> sends_after=<k>"
  /  "ok"
"""
import asyncio
import os
import time
from urllib.parse import parse_qs


def _record(ident, text):
    folder = os.environ.get("HEARTH_TEST_RECORD")
    if folder and ident:
        with open(os.path.join(folder, ident), "a") as f:
            f.write(text)


async def _drain_body(receive):
    while True:
        msg = await receive()
        if msg["type"] != "http.request" or not msg.get("more_body"):
            return msg


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    q = {k.decode(): v[-1].decode() for k, v in parse_qs(scope["query_string"]).items()}
    path = scope["path"]
    if path == "/sse":
        n, gap = int(q.get("n", "3")), float(q.get("gap", "0.2"))
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})
        for i in range(n):
            await asyncio.sleep(gap)
            await send({"type": "http.response.body", "more_body": True,
                        "body": b"data: %d %.6f\n\n" % (i, time.monotonic())})
        await send({"type": "http.response.body", "body": b""})
        return
    if path == "/wait":
        await _drain_body(receive)
        _record(q.get("id"), "waiting\n")
        msg = await receive()
        _record(q.get("id"), msg["type"].replace("http.", "") + "\n")
        return
    if path == "/until_gone":
        gone = asyncio.Event()

        async def listen():
            await _drain_body(receive)
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        listener = asyncio.ensure_future(listen())
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})
        i = after = 0
        for i in range(600):
            if gone.is_set():
                break
            await send({"type": "http.response.body", "body": b"data: %d\n\n" % i, "more_body": True})
            try:
                await asyncio.wait_for(asyncio.shield(gone.wait()), 0.05)
            except asyncio.TimeoutError:
                pass
        # send() after the client left is a no-op (no exception), as uvicorn 0.17's
        await send({"type": "http.response.body", "body": b"data: late\n\n", "more_body": True})
        after += 1
        _record(q.get("id"), "stopped %d sends_after=%d\n" % (i, after))
        await send({"type": "http.response.body", "body": b""})
        listener.cancel()
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok\n"})
