"""A raw WSGI app for the several-apps tests (test_several_apps.py): answers which
app it is ($APP_TAG, set per [[apps]] entry) and how it was mounted.

  /crash   the worker dies (os._exit) in the middle of a request
  else     JSON {tag, script_name, path_info, pid}
"""
import json
import os


def app(environ, start_response):
    if environ.get("PATH_INFO") == "/crash":
        os._exit(1)
    body = json.dumps({
        "tag": os.environ.get("APP_TAG", ""),
        "script_name": environ.get("SCRIPT_NAME"),
        "path_info": environ.get("PATH_INFO"),
        "pid": os.getpid(),
    }).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


async def asgi_app(scope, receive, send):
    """The ASGI twin: the mount as root_path, and the full path (ASGI spec)."""
    if scope["type"] != "http":
        return
    body = json.dumps({"tag": os.environ.get("APP_TAG", ""), "root_path": scope["root_path"],
                       "path": scope["path"], "raw_path": scope["raw_path"].decode("latin-1")}).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})
