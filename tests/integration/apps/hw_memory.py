"""Allocates known amounts of memory, touched page by page, so the memory
figures (RSS, PSS, USS) can be checked against them:
  HW_PRE_MIB   at import (in the zygote when preloaded, so shared with workers)
  HW_POST_MIB  in each worker, by the post_fork hook (hooks.post_fork =
               "hw_memory:post_fork"), so private to the worker
Every request answers JSON {pid, pre, post} (bytes allocated)."""
import json
import os

MIB = 1024 * 1024
PRE = bytearray(int(os.environ.get("HW_PRE_MIB", "64")) * MIB)
for _i in range(0, len(PRE), 4096):
    PRE[_i] = 1
_post = []


def post_fork(*args, **kwargs):
    if not _post:
        buf = bytearray(int(os.environ.get("HW_POST_MIB", "32")) * MIB)
        for i in range(0, len(buf), 4096):
            buf[i] = 2
        _post.append(buf)


def app(environ, start_response):
    body = json.dumps({"pid": os.getpid(), "pre": len(PRE), "post": sum(len(b) for b in _post)}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
