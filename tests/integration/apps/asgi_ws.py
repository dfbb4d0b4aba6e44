"""A raw ASGI 3 app with WebSocket endpoints, for tests/integration/test_websocket.py and plugins/python/tests/test_asgi_websocket.py.

websocket scope paths:
  /echo        accept (the first offered subprotocol), echo every message until disconnect;
               the first message sent is "pid=P" when the query string is "pid"
  /scope       accept, send the scope (JSON), close 1000
  /reject      close before accepting (the client gets 403)
  /boom-early  raise before accepting (500)
  /boom        accept, receive one message, raise RuntimeError (close 1011)
  /close       accept, send "bye", close with 4001 "custom"
  /flood       accept, send 64 KiB binary messages until the client is gone
http scope: any path answers "pid=P".
"""
import json
import os


async def _http(scope, receive, send):
    body = b"pid=%d" % os.getpid()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(body))]})
    await send({"type": "http.response.body", "body": body})


async def _echo(scope, receive, send):
    offered = scope.get("subprotocols") or []
    await send({"type": "websocket.accept", "subprotocol": offered[0] if offered else None,
                "headers": [(b"x-ws-app", b"raw")]})
    if scope["query_string"] == b"pid":
        await send({"type": "websocket.send", "text": "pid=%d" % os.getpid()})
    while True:
        msg = await receive()
        if msg["type"] == "websocket.disconnect":
            return
        if msg.get("text") is not None:
            await send({"type": "websocket.send", "text": msg["text"]})
        else:
            await send({"type": "websocket.send", "bytes": msg["bytes"]})


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "http":
        return await _http(scope, receive, send)
    assert scope["type"] == "websocket"
    assert (await receive())["type"] == "websocket.connect"
    path = scope["path"]
    if path == "/echo":
        return await _echo(scope, receive, send)
    if path == "/scope":
        await send({"type": "websocket.accept"})
        out = {k: v for k, v in scope.items() if k not in ("headers", "raw_path", "query_string", "state")}
        out["headers"] = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]]
        out["query_string"] = scope["query_string"].decode("latin-1")
        await send({"type": "websocket.send", "text": json.dumps(out)})
        await send({"type": "websocket.close", "code": 1000})
        return
    if path == "/reject":
        await send({"type": "websocket.close"})
        return
    if path == "/boom-early":
        raise RuntimeError("ws-boom-early-marker")
    if path == "/boom":
        await send({"type": "websocket.accept"})
        await receive()
        raise RuntimeError("ws-boom-marker")
    if path == "/close":
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": "bye"})
        await send({"type": "websocket.close", "code": 4001, "reason": "custom"})
        return
    if path == "/flood":
        await send({"type": "websocket.accept"})
        chunk = b"x" * 65536
        try:
            for _ in range(100000):
                await send({"type": "websocket.send", "bytes": chunk})
        except OSError:
            import sys
            sys.stderr.write("flood-stopped-marker\n")
            return
        return
    await send({"type": "websocket.close", "code": 1008})
