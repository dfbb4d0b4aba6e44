"""Responses for the [compression] tests (tests/integration/test_compression.py).

  /page?size=N[&type=T][&status=S][&etag=E][&cc=C][&ce=E][&range=1][&nolen=1]
        N bytes of HTML-like text (compressible), with the given Content-Type (default
        text/html; charset=utf-8), status, ETag, Cache-Control, Content-Encoding; a
        Content-Range with range=1; no Content-Length with nolen=1
  /stream?n=N&delay_ms=D
        N lines "event K", each yielded after D ms, no Content-Length
  /file  this file's text through wsgi.file_wrapper
"""
import os
import time
from urllib.parse import parse_qs

ROW = b"<tr><td>row</td><td>some repeated table content for compression</td></tr>\n"


def _qs(environ):
    return {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}


def page_bytes(size):
    return (ROW * (size // len(ROW) + 1))[:size]


def app(environ, start_response):
    path = environ["PATH_INFO"]
    q = _qs(environ)
    if path == "/page":
        body = page_bytes(int(q.get("size", "20000")))
        status = int(q.get("status", "200"))
        headers = [("Content-Type", q.get("type", "text/html; charset=utf-8"))]
        if "nolen" not in q:
            headers.append(("Content-Length", str(len(body))))
        for key, name in (("etag", "ETag"), ("cc", "Cache-Control"), ("ce", "Content-Encoding")):
            if key in q:
                headers.append((name, q[key]))
        if "range" in q:
            headers.append(("Content-Range", f"bytes 0-{len(body) - 1}/{len(body) * 2}"))
        start_response(f"{status} Whatever", headers)
        return [body]
    if path == "/stream":
        n, delay = int(q.get("n", "3")), int(q.get("delay_ms", "0")) / 1000.0
        start_response("200 OK", [("Content-Type", "text/plain")])

        def gen():
            for k in range(n):
                if k:
                    time.sleep(delay)
                yield f"event {k}\n".encode()
        return gen()
    if path == "/file":
        f = open(os.path.abspath(__file__), "rb")
        size = os.fstat(f.fileno()).st_size
        start_response("200 OK", [("Content-Type", "text/x-python"), ("Content-Length", str(size))])
        return environ["wsgi.file_wrapper"](f, 8192)
    start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "0")])
    return []
