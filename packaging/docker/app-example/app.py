"""A Flask app on PostgreSQL, packaged with Hearth's app-image pattern
(packaging/docker/app-example/Dockerfile, docs/deploy.md "Docker").

Nothing touches the database at import: the zygote imports this module once and
forks every worker from it, so a connection opened here would be one socket
shared by all workers (docs/hooks.md). Each worker opens its own on first use.

    DATABASE_URL=postgresql://user:secret@db/app   (libpq's connection string)
"""
import os
import sys

import psycopg2
from flask import Flask, jsonify

app = Flask(__name__)

_conn = None
_conn_pid = None


def db():
    """This worker's connection, opened on first use after the fork (threads = 1)."""
    global _conn, _conn_pid
    if _conn is None or _conn_pid != os.getpid() or _conn.closed:
        _conn = psycopg2.connect(os.environ.get("DATABASE_URL", ""), connect_timeout=5)
        _conn.autocommit = True
        _conn_pid = os.getpid()
    return _conn


@app.get("/")
def index():
    # prefix: the interpreter's environment (/venv in the image).
    return jsonify(app="app-example", psycopg2=psycopg2.__version__.split()[0], prefix=sys.prefix)


@app.get("/db")
def db_time():
    with db().cursor() as cur:
        cur.execute("SELECT now()::text")
        (now,) = cur.fetchone()
    return jsonify(now=now)
