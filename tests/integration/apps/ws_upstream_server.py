"""A WebSocket echo server for the [[upstreams]] WebSocket tests
(tests/integration/test_upstream_websocket.py), on the `websockets` package (10.4).

Listens on 127.0.0.1:$PORT, or on the Unix socket $SOCKET. Plain HTTP: /healthz answers
200; a path under /refuse answers 403 "refused by upstream" (process_request). A WebSocket
offers the subprotocols "chat" and "superchat" (the first of the client's offer it knows
wins) and answers its handshake with Set-Cookie: up=1. Messages: "info" answers JSON (the
path, the request headers with lower-case names, the chosen subprotocol, the pid, $UPSTREAM_TAG);
"close:CODE" closes with CODE and the reason "bye"; "flood:N,SIZE" sends N binary messages of
SIZE bytes (message i is i as 4 big-endian bytes, repeated), then "flood done"; anything else (text or binary) is echoed.
When a connection ends, its close code and reason go to $RECORD_DIR/closed-ID (ID: the
query's id=...), written to a temporary name first and renamed.
"""
import asyncio
import http
import json
import os
import sys
import urllib.parse

import websockets

TAG = os.environ.get("UPSTREAM_TAG", "")
RECORD_DIR = os.environ.get("RECORD_DIR", "")


async def process_request(path, headers):
    if path == "/healthz":
        return http.HTTPStatus.OK, [("Content-Type", "text/plain")], b"ok\n"
    if path.startswith("/refuse"):
        return http.HTTPStatus.FORBIDDEN, [("Content-Type", "text/plain")], b"refused by upstream\n"
    return None


def record(path, ws):
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    ident = query.get("id", [""])[0]
    if not RECORD_DIR or not ident:
        return
    final = os.path.join(RECORD_DIR, "closed-" + ident)
    with open(final + ".tmp", "w") as f:
        f.write(f"{ws.close_code} {ws.close_reason}")
    os.rename(final + ".tmp", final)


async def handler(ws, path):
    try:
        async for msg in ws:
            if msg == "info":
                await ws.send(json.dumps({
                    "path": path,
                    "headers": {k.lower(): v for k, v in ws.request_headers.raw_items()},
                    "subprotocol": ws.subprotocol,
                    "pid": os.getpid(),
                    "tag": TAG,
                }))
            elif isinstance(msg, str) and msg.startswith("close:"):
                await ws.close(int(msg[6:]), "bye")
            elif isinstance(msg, str) and msg.startswith("flood:"):
                count, size = map(int, msg[6:].split(","))
                for i in range(count):
                    await ws.send(i.to_bytes(4, "big") * (size // 4))
                await ws.send("flood done")
            else:
                await ws.send(msg)
    except websockets.ConnectionClosed:
        pass
    finally:
        record(path, ws)


async def main():
    opts = dict(process_request=process_request, subprotocols=["chat", "superchat"],
                extra_headers=[("Set-Cookie", "up=1")], max_size=8 << 20, compression=None)
    if os.environ.get("SOCKET"):
        server = await websockets.unix_serve(handler, os.environ["SOCKET"], **opts)
    else:
        server = await websockets.serve(handler, "127.0.0.1", int(os.environ["PORT"]), **opts)
    sys.stderr.write(f"ws_upstream_server: listening ({TAG})\n")
    async with server:
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main())
