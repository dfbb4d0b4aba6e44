"""The front door buffers both ways, so slow clients never hold a Python worker:
the whole request is read before a worker sees it, and the worker's response is
drained as fast as the worker writes it. Also: close() is always called, a crashing
worker is replaced, wsgi.errors reaches the log."""
import concurrent.futures as cf
import time
import uuid

import hhttp
from conftest import poll
from hhttp import Conn, request


def test_slow_reader_does_not_hold_the_worker(hearthd, tmp_path):
    srv = hearthd("basic:app", workers=1, ready_workers=1)
    closed = tmp_path / "closed"
    n = 100_000  # ~5 MB, more than the in-memory response buffer
    with Conn(srv.port, timeout=20, rcvbuf=4096) as slow:
        slow.send(request("GET", f"/stream?n={n}&closed={closed}"))
        # The client reads nothing, yet the app finishes and close() is called ...
        # The app creates the file, then writes it: wait for the content, not just the file.
        poll(lambda: closed.exists() and closed.read_text(), 15,
             what="the app to finish while the client is not reading")
        assert closed.read_text() == str(n)
        # ... and the only worker is free for someone else.
        t0 = time.monotonic()
        r = hhttp.get(srv.port, "/environ", timeout=10)
        assert r.status == 200 and time.monotonic() - t0 < 3
        # The slow client still gets the whole response.
        resp = slow.read_response()
    assert resp.status == 200
    lines = resp.body.split(b"\n")
    assert len(lines) == n + 1 and lines[-1] == b""
    assert lines[0].startswith(b"line 00000 ") and lines[-2].startswith(b"line %05d " % (n - 1))


def test_slow_uploader_does_not_hold_the_worker(hearthd):
    srv = hearthd("basic:app", workers=1, ready_workers=1)
    body = b"u" * 200_000
    with Conn(srv.port, timeout=20) as up:
        up.send(request("POST", "/echo-info", [("Content-Length", str(len(body)))])
                + body[:100_000])
        # Half the body is in; the worker must not be waiting for the rest.
        t0 = time.monotonic()
        r = hhttp.get(srv.port, "/", timeout=10)
        assert r.status == 200 and time.monotonic() - t0 < 3
        up.send(body[100_000:])
        info = up.read_response().json()
    assert info["length"] == len(body) and info["content_length"] == str(len(body))


def test_close_called_when_client_disconnects_mid_stream(hearthd, tmp_path):
    srv = hearthd("basic:app", workers=1, ready_workers=1)
    closed = tmp_path / "closed"
    with Conn(srv.port, timeout=10) as c:
        c.send(request("GET", f"/stream?n=3000&delay_ms=1&closed={closed}"))
        c.read_head()
        c.sock.recv(100)
    poll(lambda: closed.exists() and closed.read_text(), 15,
         what="close() of the app iterable after the client left")
    assert hhttp.get(srv.port, "/").status == 200


def test_worker_crash_gives_5xx_and_worker_is_replaced(hearthd):
    srv = hearthd("basic:app", workers=1, ready_workers=1)
    before = set(srv.worker_pids().values())
    r = hhttp.get(srv.port, "/crash", timeout=10)
    assert 500 <= r.status < 600, r
    srv.wait_log(r"worker \d+ ready pid=", count=2, timeout=15)
    assert set(srv.worker_pids().values()) != before
    poll(lambda: hhttp.get(srv.port, "/", timeout=10).status == 200, 15,
         what="service after the crash")


def test_wsgi_errors_reach_the_log(srv):
    token = uuid.uuid4().hex[:12]
    assert hhttp.get(srv.port, f"/errors?msg=errors-{token}").status == 200
    poll(lambda: f"errors-{token}" in srv.log(), 5, what="wsgi.errors output in hearthd's log")


def test_many_concurrent_connections(srv):
    def one(i):
        with Conn(srv.port, timeout=20) as c:
            for _ in range(5):
                c.send(request("POST", "/echo", body=b"%d" % i))
                r = c.read_response()
                assert r.status == 200 and r.body == b"%d" % i
        return True

    with cf.ThreadPoolExecutor(32) as pool:
        assert all(pool.map(one, range(64)))
