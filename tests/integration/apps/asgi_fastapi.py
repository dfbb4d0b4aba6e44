"""A FastAPI app (Debian's python3-fastapi 0.92) with startup/shutdown events, for
tests/integration/test_asgi.py. HEARTH_TEST_EVENTS names a file that gets a line
"startup PID" / "shutdown PID" for each event."""
import asyncio
import os

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()
STATE = {}


def _note(event):
    path = os.environ.get("HEARTH_TEST_EVENTS")
    if path:
        with open(path, "a") as f:
            f.write("%s %d\n" % (event, os.getpid()))


@app.on_event("startup")
async def startup():
    STATE["db"] = "connected"
    _note("startup")


@app.on_event("shutdown")
async def shutdown():
    _note("shutdown")


class Item(BaseModel):
    name: str
    price: float


@app.get("/")
async def root():
    return {"framework": "fastapi", "db": STATE.get("db"), "pid": os.getpid()}


@app.get("/items/{item_id}")
async def read_item(item_id: int, q: str = ""):
    return {"item_id": item_id, "q": q}


@app.post("/items")
async def create_item(item: Item):
    return {"name": item.name, "price_with_tax": round(item.price * 1.2, 2)}


@app.get("/sleep")
async def sleep(s: float = 0.2):
    await asyncio.sleep(s)
    return {"slept": s}
