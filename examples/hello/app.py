"""The bundled example: a plain WSGI app (no framework) that Hearth serves.

    build/bin/hearthd -c examples/hello/hearth.toml --chdir examples/hello

GET /        -> "Hello from Hearth!"
GET /health  -> "ok"
anything else -> 404
"""
import os


def app(environ, start_response):
    path = environ.get("PATH_INFO") or "/"
    if path == "/":
        body = (
            "Hello from Hearth!\n"
            f"server: {environ.get('SERVER_SOFTWARE', '?')}\n"
            f"worker: {os.environ.get('HEARTH_WORKER_ID', '-')} (pid {os.getpid()})\n"
        ).encode("utf-8")
        status = "200 OK"
    elif path == "/health":
        body, status = b"ok\n", "200 OK"
    else:
        body, status = b"not found\n", "404 Not Found"
    start_response(status, [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
    ])
    return [body]
