"""Raw ASGI hello: the smallest ASGI 3 app (no framework), so bench/worker_inproc.py can
show the worker runtime's own cost per request (docs/profile.md section 5)."""

BODY = b'{"hello":"world"}'
START = {"type": "http.response.start", "status": 200,
         "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(BODY))]}
END = {"type": "http.response.body", "body": BODY}


async def application(scope, receive, send):
    if scope["type"] != "http":
        return
    await send(START)
    await send(END)
