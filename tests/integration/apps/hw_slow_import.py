"""An app whose import takes HW_IMPORT_SECONDS (default 3) seconds, like one that
loads a model at import. Appends JSON lines to HW_EVENTS: {"event": "imported"}
when the import finishes, then one line per request with its path and the
X-Hearth-Internal kind, so a test can check the warm-up ran before any user
request. /sleep?ms=N sleeps N ms before answering (a slow in-flight request)."""
import json
import os
import time
from urllib.parse import parse_qs

_T0 = time.time()
time.sleep(float(os.environ.get("HW_IMPORT_SECONDS", "3")))


def _log(**fields):
    path = os.environ.get("HW_EVENTS")
    if path:
        fields.update(pid=os.getpid(), t=time.time())
        with open(path, "a") as f:
            f.write(json.dumps(fields) + "\n")


_log(event="imported", import_s=time.time() - _T0)


def app(environ, start_response):
    _log(event="request", path=environ.get("PATH_INFO", ""),
         internal=environ.get("HTTP_X_HEARTH_INTERNAL", ""))
    if environ.get("PATH_INFO") == "/sleep":
        qs = parse_qs(environ.get("QUERY_STRING", ""))
        time.sleep(int(qs.get("ms", ["100"])[-1]) / 1000.0)
    body = b"model says hi\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
