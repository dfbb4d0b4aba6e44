"""A FastAPI app with a WebSocket endpoint (Debian's python3-fastapi), for
tests/integration/test_websocket.py: /ws echoes JSON messages with a count;
/ws/text echoes text through Starlette's WebSocket class; /ws/deny closes before accepting
(the client gets 403, as under uvicorn)."""
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()


@app.get("/")
async def home():
    return {"ok": True}


@app.websocket("/ws")
async def ws_json(websocket: WebSocket):
    await websocket.accept()
    n = 0
    try:
        while True:
            data = await websocket.receive_json()
            n += 1
            await websocket.send_json({"n": n, "echo": data})
    except WebSocketDisconnect:
        pass


@app.websocket("/ws/text")
async def ws_text(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            await websocket.send_text((await websocket.receive_text()).upper())
    except WebSocketDisconnect:
        pass


@app.websocket("/ws/deny")
async def ws_deny(websocket: WebSocket):
    await websocket.close(code=1008)
