"""A preloaded Flask app that uses PostgreSQL the right way (tests/integration/test_hooks_postgres.py).

Nothing touches the database at import: the zygote imports this module once and forks
every worker from it, so a connection opened here would be one socket shared by all of
them (see docs/hooks.md and apps/pg_app_shared.py). Instead:

    [hooks]
    post_fork = "pg_app:post_fork"      # in each worker, after the fork, before WORKER_READY
    worker_exit = "pg_app:worker_exit"  # on a graceful stop: close this worker's connections

post_fork resets the per-worker state and opens the connection of the thread it runs in
(with threads = 1 that thread serves the requests; if the database is down the worker
fails to boot with the traceback in the log). With threads > 1 every request thread opens
its own connection on first use (threading.local): a psycopg2 connection must not run two
queries at once.

$HEARTH_PG_HOST is the server's Unix socket directory.
"""
import os
import threading

import psycopg2
from flask import Flask, jsonify, request

app = Flask(__name__)


class _Db:
    owner_pid = None  # the process post_fork ran in; anything else has no connection
    worker_id = None
    local = None      # threading.local(): .conn = this thread's connection
    lock = None
    opened = []       # every connection of this worker, for worker_exit


def _connect():
    conn = psycopg2.connect(
        host=os.environ["HEARTH_PG_HOST"], dbname="postgres", user="postgres", connect_timeout=10,
        application_name="pg_app pid=%d thread=%d" % (os.getpid(), threading.get_ident()))
    conn.autocommit = True
    with _Db.lock:
        _Db.opened.append(conn)
    return conn


def post_fork(worker_id):
    _Db.owner_pid = os.getpid()
    _Db.worker_id = worker_id
    _Db.local = threading.local()
    _Db.lock = threading.Lock()
    _Db.opened = []
    _Db.local.conn = _connect()


def worker_exit(worker_id):
    for conn in _Db.opened:
        try:
            conn.close()
        except Exception:
            pass


def connection():
    """This thread's connection, opened on first use in this worker."""
    if _Db.owner_pid != os.getpid():
        raise RuntimeError('no database connection in this process: set [hooks] post_fork = "pg_app:post_fork"')
    conn = getattr(_Db.local, "conn", None)
    if conn is None or conn.closed:
        conn = _Db.local.conn = _connect()
    return conn


@app.get("/backend")
def backend():
    token = request.args.get("token", "")
    sleep = float(request.args.get("sleep", "0"))
    with connection().cursor() as cur:
        cur.execute("SELECT pg_backend_pid(), %s FROM pg_sleep(%s)", (token, sleep))
        backend_pid, echoed = cur.fetchone()
    return jsonify(backend_pid=backend_pid, token=echoed, worker_pid=os.getpid(),
                   worker_id=_Db.worker_id, thread=threading.get_ident())
