"""Lifecycle test app (memory recycling): every request to / keeps another
LC_LEAK_MB (default 2) MiB of freshly written bytes in a module-level list, so the
worker's private memory (USS) grows until hearthd recycles it. With
LC_LEAK_SHARED_MB=N the import also builds N MiB of ballast: preloaded, those pages
are shared with the zygote, so they count in every worker's RSS but not in its USS.

Endpoints (GET):
  /       leaks, then JSON {pid, held_mb}
  /info   JSON {pid, held_mb} without leaking
"""
import json
import os

_HELD = []
_CHUNK = int(os.environ.get("LC_LEAK_MB", "2")) << 20
SHARED_BALLAST = bytes([3]) * (int(os.environ.get("LC_LEAK_SHARED_MB", "0")) << 20)


def app(environ, start_response):
    if environ.get("PATH_INFO") != "/info":
        # bytes * n writes every page, so the memory is really resident and private.
        _HELD.append(bytes([len(_HELD) % 251 + 1]) * _CHUNK)
    body = json.dumps({"pid": os.getpid(), "held_mb": len(_HELD) * _CHUNK >> 20}).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
