"""Lifecycle test app (crash loop): every worker dies right after the fork.

* lazy (--no-preload): the worker imports this module after the fork, and the import
  calls os._exit(1) whenever HEARTH_WORKER_ID is not "zygote" and LC_CRASH=1;
* preload: the zygote imports it fine; the post_fork hook `lc_crash:post_fork`
  exits the forked worker with os._exit(1) when LC_CRASH=1.

Without LC_CRASH=1 it is a plain app ("ok\n"), so importing it in-process is harmless.
"""
import os


def _armed():
    return os.environ.get("LC_CRASH") == "1"


if _armed() and os.environ.get("HEARTH_WORKER_ID", "zygote") != "zygote":
    os._exit(1)


def post_fork(*args, **kwargs):
    if _armed():
        os._exit(1)


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
    return [b"ok\n"]
