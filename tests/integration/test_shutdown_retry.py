"""A request retried while the daemon shuts down is answered, and the daemon exits 0.

At graceful_timeout the pool stops a worker that is still running a GET; the GET is
retryable (no response byte sent), so the dispatcher queues it again, but no worker
will take it. It used to stay queued until ~Daemon destroyed it after the telemetry
its sink reports to: a heap-use-after-free that `make test-sanitize` found (exit 1
under ASan; undefined behaviour, and no access-log line, in a normal build). Now
finish_shutdown() answers it with 503 first.
"""
import concurrent.futures as cf
import signal
import time

import hhttp
from conftest import poll


def test_request_retried_during_shutdown_is_answered(hearthd, tmp_path):
    srv = hearthd("basic:app", "--graceful-timeout", "1s", workers=1, ready_workers=1)
    started, release = tmp_path / "s", tmp_path / "r"
    with cf.ThreadPoolExecutor(1) as pool:
        fut = pool.submit(hhttp.get, srv.port,
                          f"/block?started={started}&release={release}&max=60", timeout=30)
        poll(started.exists, 10, what="the in-flight request to start")
        srv.send_signal(signal.SIGTERM)
        rc = srv.wait_exit(10)
        try:
            fut.result(timeout=10)
        except Exception:
            pass  # the connection is closed at exit; the 503 may not reach the client
    assert rc == 0, srv.log_tail()
    assert "retrying on another worker" in srv.log(), srv.log_tail()
    lines = poll(lambda: [l for l in srv.stdout().splitlines() if '"GET /block?' in l], 5,
                 what="the access-log line of the retried request")
    assert len(lines) == 1 and '" 503 ' in lines[0], lines


def test_connection_accepted_just_before_sigterm_gets_its_answer(hearthd):
    """A client that connected a moment before the drain began has not sent its request
    yet and cannot know; closing it as idle failed that request with no response (seen
    as a rare error in test_upgrade under load). It gets a short grace and is answered,
    with Connection: close."""
    srv = hearthd("basic:app", workers=1, ready_workers=1)
    with hhttp.Conn(srv.port, timeout=10) as c:
        assert hhttp.get(srv.port, "/").status == 200  # the daemon is accepting
        time.sleep(0.2)  # accepted, nothing sent
        srv.send_signal(signal.SIGTERM)
        time.sleep(0.3)  # the drain has begun
        c.send(hhttp.request("GET", "/"))
        r = c.read_response()
    assert r.status == 200, r
    assert r.header("connection") == "close", r.headers
    assert srv.wait_exit(10) == 0, srv.log_tail()
