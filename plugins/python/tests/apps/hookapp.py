"""Server hooks for tests/test_hooks.py, and a tiny app that shows what post_fork set up.

Every hook call (and this module's import) appends one JSON line to the file named by
$HEARTH_TEST_HOOK_LOG: {"event", "worker_id", "pid", "app_imported"}, where app_imported
says whether testapp (the app the lazy-mode tests load) was imported at that moment.
"""

import json
import os
import sys
import time
import types

LOG = os.environ.get("HEARTH_TEST_HOOK_LOG")
# What post_fork set up in this process: stands in for a per-worker database connection.
CONNECTION = {"opened_by": None, "worker_id": None}
NOT_CALLABLE = 42


def record(event, worker_id=None, **extra):
    if not LOG:
        return
    line = {"event": event, "worker_id": worker_id, "pid": os.getpid(),
            "app_imported": "testapp" in sys.modules}
    line.update(extra)
    with open(LOG, "a") as f:
        f.write(json.dumps(line) + "\n")


record("import")


def pre_fork(worker_id):
    record("pre_fork", worker_id)


def post_fork(worker_id):
    CONNECTION["opened_by"] = os.getpid()
    CONNECTION["worker_id"] = worker_id
    record("post_fork", worker_id, type=type(worker_id).__name__)


def worker_exit(worker_id):
    record("worker_exit", worker_id, connection_owner=CONNECTION["opened_by"])


def failing_post_fork(worker_id):
    raise RuntimeError("cannot reach the database from worker %d (on purpose)" % worker_id)


def failing_pre_fork(worker_id):
    record("pre_fork", worker_id)
    if worker_id == 2:
        raise RuntimeError("pre_fork refuses worker 2 (on purpose)")


def failing_worker_exit(worker_id):
    record("worker_exit", worker_id)
    raise RuntimeError("worker_exit failed (on purpose)")


NAMESPACE = types.SimpleNamespace(post_fork=post_fork)


def application(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/sleep":
        record("sleeping", CONNECTION["worker_id"])
        time.sleep(float(environ.get("QUERY_STRING") or "0.5"))
    body = json.dumps({"pid": os.getpid(), "connection": CONNECTION}).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
