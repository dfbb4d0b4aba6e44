"""Starlette / FastAPI streaming for tests/integration/test_streaming.py (issue 17).

  /events?id=ID   Starlette StreamingResponse of server-sent events (text/event-stream),
                  one every 50 ms (at most 600); the generator writes "started", then
                  "cancelled <i>" when Starlette cancels it (the client went away) or
                  "finished", to $HEARTH_TEST_RECORD/ID
  /fast/stream    FastAPI's StreamingResponse: 3 parts 100 ms apart, each with the app's
                  time.monotonic()
"""
import asyncio
import os
import time

from fastapi import FastAPI
from fastapi.responses import StreamingResponse as FastStreamingResponse
from starlette.applications import Starlette
from starlette.responses import StreamingResponse
from starlette.routing import Mount, Route


def _record(ident, text):
    folder = os.environ.get("HEARTH_TEST_RECORD")
    if folder and ident:
        with open(os.path.join(folder, ident), "a") as f:
            f.write(text)


async def events(request):
    ident = request.query_params.get("id")

    async def gen():
        i = 0
        _record(ident, "started\n")
        try:
            for i in range(600):
                yield "data: %d %.6f\n\n" % (i, time.monotonic())
                await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            _record(ident, "cancelled %d\n" % i)
            raise
        _record(ident, "finished\n")
    return StreamingResponse(gen(), media_type="text/event-stream")


fast = FastAPI()


@fast.get("/stream")
async def fast_stream():
    async def parts():
        for i in range(3):
            await asyncio.sleep(0.1)
            yield "part %d %.6f\n" % (i, time.monotonic())
    return FastStreamingResponse(parts(), media_type="text/plain")


app = Starlette(routes=[Route("/events", events), Mount("/fast", app=fast)])
