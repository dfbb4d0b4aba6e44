"""WSGI streaming responses for tests/integration/test_streaming.py (issue 17).

Each event carries the app's time.monotonic() when it was yielded (one clock for every
process on the host), so the client can measure how long it took to arrive.

  /sse?n=N&gap=S     text/event-stream: N events "data: <i> <t>", S seconds apart, after
                     a first pause of S (the response starts with the first event)
  /accel?n=N&gap=S   the same as text/plain with X-Accel-Buffering: no
  /plain?n=N&gap=S   the same without either: an ordinary (buffered) generator response
  /big?mib=M&id=ID   X-Accel-Buffering: no, M MiB in 64 KiB chunks; the bytes yielded so
                     far are written to $HEARTH_TEST_RECORD/ID (back-pressure)
  /forever?id=ID     an SSE stream of up to 600 events 50 ms apart; the generator writes
                     "started" and, when it is closed (GeneratorExit), "closed <i>" to
                     $HEARTH_TEST_RECORD/ID
"""
import os
import time
from urllib.parse import parse_qs


def _record(ident, text, mode="a"):
    folder = os.environ.get("HEARTH_TEST_RECORD")
    if folder and ident:
        with open(os.path.join(folder, ident), mode) as f:
            f.write(text)


def _events(n, gap, fmt):
    for i in range(n):
        time.sleep(gap)
        yield fmt(i, time.monotonic()).encode()


def app(environ, start_response):
    q = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    path = environ["PATH_INFO"]
    n = int(q.get("n", "3"))
    gap = float(q.get("gap", "0.2"))
    if path == "/sse":
        start_response("200 OK", [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")])
        return _events(n, gap, lambda i, t: "data: %d %.6f\n\n" % (i, t))
    if path == "/accel":
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Accel-Buffering", "no")])
        return _events(n, gap, lambda i, t: "%d %.6f\n" % (i, t))
    if path == "/plain":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return _events(n, gap, lambda i, t: "%d %.6f\n" % (i, t))
    if path == "/big":
        ident = q.get("id")
        chunk = b"x" * 65536
        total = int(q.get("mib", "64")) * 16

        def big():
            for i in range(total):
                _record(ident, "%d\n" % ((i + 1) * len(chunk)), "w")
                yield chunk
        start_response("200 OK", [("Content-Type", "application/octet-stream"), ("X-Accel-Buffering", "no")])
        return big()
    if path == "/forever":
        ident = q.get("id")

        def forever():
            i = 0
            _record(ident, "started\n")
            try:
                for i in range(600):
                    yield ("data: %d\n\n" % i).encode()
                    time.sleep(0.05)
            except GeneratorExit:
                _record(ident, "closed %d\n" % i)
                raise
            _record(ident, "finished\n")
        start_response("200 OK", [("Content-Type", "text/event-stream")])
        return forever()
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found\n"]
