"""Lifecycle test app (memory_budget): importing it allocates LC_BUDGET_MB (default
30) MiB of written, private memory. Run with --no-preload, every worker imports it
after the fork, so each worker really costs that much on top of the zygote.

Endpoints (GET):
  /   JSON {pid, ballast_mb}
"""
import json
import os

_MB = int(os.environ.get("LC_BUDGET_MB", "30"))
BALLAST = bytes([7]) * (_MB << 20)


def app(environ, start_response):
    body = json.dumps({"pid": os.getpid(), "ballast_mb": len(BALLAST) >> 20}).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
