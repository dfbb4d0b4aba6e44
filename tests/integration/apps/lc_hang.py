"""Lifecycle test app (request timeout): /hang never returns, so hearthd's
`timeout` must answer 504, dump this stack (faulthandler) and replace the worker.

Endpoints (GET):
  /       "ok pid=P\n"
  /hang   sleeps forever inside lc_hang_forever()
"""
import os
import time


def lc_hang_forever():
    while True:
        time.sleep(0.2)


def app(environ, start_response):
    if environ.get("PATH_INFO") == "/hang":
        lc_hang_forever()
    body = ("ok pid=%d\n" % os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
