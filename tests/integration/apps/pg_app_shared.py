"""THE PITFALL, ON PURPOSE: a connection opened at import in a preloaded app. Do not copy.

The zygote runs this import once; every worker forked from it inherits the same socket to
the same PostgreSQL backend. Workers that use it one after the other all talk to that one
backend (the same pg_backend_pid() everywhere); workers that use it at the same time
interleave their protocol messages on the socket: one reads another's result (wrong
answers), another waits for a reply that was already consumed (a hang, then 504), or the
server sees garbage and drops the connection. With SSL the record sequence numbers
disagree too ("SSL error: decryption failed or bad record mac"). docs/hooks.md has the fix
(apps/pg_app.py does it right).

/backend?serialize=1 takes an exclusive flock (on a file opened per request, so the lock is
not shared by the fork either) around the query; the test uses it to observe the sharing
deterministically, without the corruption. ?hold=S sleeps after the query so that
concurrent requests are spread over the workers.
"""
import fcntl
import os
import threading
import time

import psycopg2
from flask import Flask, jsonify, request

app = Flask(__name__)

IMPORT_PID = os.getpid()
CONN = psycopg2.connect(host=os.environ["HEARTH_PG_HOST"], dbname="postgres", user="postgres",
                        connect_timeout=10, application_name="pg_app_shared import pid=%d" % IMPORT_PID)
CONN.autocommit = True
with CONN.cursor() as _cur:
    _cur.execute("SELECT pg_backend_pid()")
    IMPORT_BACKEND_PID = _cur.fetchone()[0]


def _query(token):
    with CONN.cursor() as cur:
        cur.execute("SELECT pg_backend_pid(), %s", (token,))
        return cur.fetchone()


@app.get("/backend")
def backend():
    token = request.args.get("token", "")
    if request.args.get("serialize") == "1":
        with open(os.environ["HEARTH_PG_LOCK"], "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            backend_pid, echoed = _query(token)
    else:
        backend_pid, echoed = _query(token)
    time.sleep(float(request.args.get("hold", "0")))
    return jsonify(backend_pid=backend_pid, token=echoed, worker_pid=os.getpid(),
                   thread=threading.get_ident(), import_pid=IMPORT_PID,
                   import_backend_pid=IMPORT_BACKEND_PID)
