"""Lifecycle test app (rolling reload): answers with the VERSION read at import time
from the file `VERSION` next to this module ("unversioned" when there is none).
The reload tests copy this file into a temp dir, rewrite VERSION, and reload.

Endpoints (GET):
  /              "version=V pid=P\n"
  /info          JSON {version, pid, import_pid, worker}
  /sleep?ms=N    sleeps N ms (at most 60 s), then like /
"""
import json
import os
import time
from urllib.parse import parse_qs

_VERSION_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "VERSION")
try:
    with open(_VERSION_FILE) as _f:
        VERSION = _f.read().strip()
except FileNotFoundError:
    VERSION = "unversioned"
IMPORT_PID = os.getpid()


def _text(start_response, body, status="200 OK", ctype="text/plain"):
    body = body.encode("utf-8")
    start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(body)))])
    return [body]


def app(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    qs = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    if path == "/info":
        return _text(start_response, json.dumps({
            "version": VERSION, "pid": os.getpid(), "import_pid": IMPORT_PID,
            "worker": os.environ.get("HEARTH_WORKER_ID", "")}), ctype="application/json")
    if path == "/sleep":
        time.sleep(min(int(qs.get("ms", "0")), 60000) / 1000.0)
    elif path != "/":
        return _text(start_response, "not found\n", "404 Not Found")
    return _text(start_response, "version=%s pid=%d\n" % (VERSION, os.getpid()))
