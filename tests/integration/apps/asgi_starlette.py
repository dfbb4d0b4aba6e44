"""A Starlette app (Debian's python3-starlette) for tests/integration/test_asgi.py."""
import asyncio

from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route


async def home(request):
    return JSONResponse({"framework": "starlette", "path": request.url.path,
                         "query": dict(request.query_params), "client": request.client.host,
                         "http_version": request.scope["http_version"]})


async def echo(request):
    body = await request.body()
    return PlainTextResponse(body.decode("utf-8")[::-1])


async def upload(request):
    # Counts the http.request events the body arrives in (request.stream() yields one per event).
    sizes = []
    async for chunk in request.stream():
        if chunk:
            sizes.append(len(chunk))
    return JSONResponse({"chunks": len(sizes), "bytes": sum(sizes), "largest": max(sizes, default=0)})


async def stream(request):
    async def gen():
        for i in range(3):
            yield "part%d\n" % i
            await asyncio.sleep(0.01)
    return StreamingResponse(gen(), media_type="text/plain")


async def boom(request):
    raise RuntimeError("starlette-boom-marker")


app = Starlette(routes=[Route("/", home), Route("/echo", echo, methods=["POST"]),
                        Route("/upload", upload, methods=["POST"]),
                        Route("/stream", stream), Route("/boom", boom)])
