"""FastAPI app for the ASGI rows of bench/run.py, the same module for every ASGI stack.

- ``GET /``: a small dict, serialised by FastAPI (the FastAPI JSON row).
- ``/ws``: a WebSocket that echoes every text or binary message (the WebSocket echo row).
- ``GET /sse``: server-sent events: one event carrying the time it was sent
  (``time.monotonic_ns()``, CLOCK_MONOTONIC, comparable across processes of one machine),
  then, after ``SSE_GAP_S``, a second event and the end. A server that held the response
  until its end would deliver the first event ``SSE_GAP_S`` late (the first-event row).
"""
import asyncio
import time

from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse

SSE_GAP_S = 0.2

application = FastAPI()


@application.get("/")
async def data():
    return {
        "id": 12345,
        "name": "hearth",
        "tags": ["asgi", "http", "bench"],
        "active": True,
        "ratio": 0.75,
        "owner": {"login": "bench", "id": 7},
    }


@application.websocket("/ws")
async def echo(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            msg = await websocket.receive()
            if msg["type"] == "websocket.disconnect":
                return
            if msg.get("text") is not None:
                await websocket.send_text(msg["text"])
            else:
                await websocket.send_bytes(msg.get("bytes") or b"")
    except WebSocketDisconnect:
        return


@application.get("/sse")
async def sse():
    async def events():
        yield f"event: first\ndata: {time.monotonic_ns()}\n\n"
        await asyncio.sleep(SSE_GAP_S)
        yield f"event: second\ndata: {time.monotonic_ns()}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")
