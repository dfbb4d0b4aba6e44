"""Dispatch: bounded FIFO with 503 + Retry-After when full or timed out, and
threads per worker."""
import concurrent.futures as cf
import time

import hhttp
from conftest import poll


def _block_url(tmp_path, name, max_s=10):
    started, release = tmp_path / f"{name}.started", tmp_path / f"{name}.release"
    return f"/block?started={started}&release={release}&max={max_s}", started, release


def test_queue_full_gives_503_with_retry_after(hearthd, tmp_path):
    srv = hearthd("basic:app", workers=1, toml="max_queue = 1\nqueue_timeout = \"20s\"\n")
    url, started, release = _block_url(tmp_path, "a")
    with cf.ThreadPoolExecutor(3) as pool:
        a = pool.submit(hhttp.get, srv.port, url, timeout=20)
        poll(started.exists, 10, what="the worker to pick up the blocking request")
        # The only worker is busy: one of B/C waits in the queue (max 1), the other
        # must be refused at once.
        b = pool.submit(hhttp.get, srv.port, "/environ", timeout=20)
        c = pool.submit(hhttp.get, srv.port, "/environ", timeout=20)
        first = next(cf.as_completed([b, c], timeout=10)).result()
        assert first.status == 503, f"expected one request refused while queued: {first}"
        assert first.header("Retry-After"), first.headers
        assert not a.done(), "the blocking request finished too early"
        release.touch()
        ra = a.result(timeout=15)
        results = sorted([b.result(timeout=15).status, c.result(timeout=15).status])
    assert ra.status == 200 and ra.body == b"released\n"
    assert results == [200, 503]


def test_queue_timeout_gives_503_with_retry_after(hearthd, tmp_path):
    srv = hearthd("basic:app", workers=1, toml='max_queue = 10\nqueue_timeout = "500ms"\n')
    url, started, release = _block_url(tmp_path, "a")
    with cf.ThreadPoolExecutor(2) as pool:
        a = pool.submit(hhttp.get, srv.port, url, timeout=20)
        poll(started.exists, 10, what="the worker to pick up the blocking request")
        t0 = time.monotonic()
        r = hhttp.get(srv.port, "/environ", timeout=10)
        waited = time.monotonic() - t0
        release.touch()
        assert a.result(timeout=15).status == 200
    assert r.status == 503
    assert r.header("Retry-After"), r.headers
    # queue_timeout is 500 ms; margin: 1 s for a loaded 2-core machine under ASan.
    assert 0.45 <= waited < 1.5, f"queue_timeout is 500ms, waited {waited:.2f}s"
    assert hhttp.get(srv.port, "/").status == 200


def test_threads_serve_concurrently(hearthd, tmp_path):
    srv = hearthd("basic:app", "--threads", "4", workers=1)
    d = tmp_path / "barrier"
    d.mkdir()
    url = f"/barrier?dir={d}&n=4&max=5"
    t0 = time.monotonic()
    with cf.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: hhttp.get(srv.port, url, timeout=15), range(4)))
    elapsed = time.monotonic() - t0
    bodies = [r.json() for r in results]
    assert all(r.status == 200 for r in results)
    # Each request waits until all 4 are inside the app: only true concurrency passes.
    assert all(b["ok"] for b in bodies), bodies
    assert len({b["pid"] for b in bodies}) == 1, "one worker"
    assert len({b["thread"] for b in bodies}) == 4, "four threads"
    assert elapsed < 4, f"took {elapsed:.2f}s"


def test_threads_sleep_total_time(hearthd):
    srv = hearthd("basic:app", "--threads", "4", workers=1)
    t0 = time.monotonic()
    with cf.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: hhttp.get(srv.port, "/sleep?ms=1000", timeout=15),
                                range(4)))
    elapsed = time.monotonic() - t0
    assert all(r.status == 200 for r in results)
    assert elapsed < 2.5, f"4 x 1s requests on 4 threads took {elapsed:.2f}s (serial = 4s)"


def test_multithread_flag(hearthd):
    one = hearthd("basic:app", workers=1)
    four = hearthd("basic:app", "--threads", "4", workers=1)
    assert hhttp.get(one.port, "/environ").json()["wsgi.multithread"] is False
    assert hhttp.get(four.port, "/environ").json()["wsgi.multithread"] is True


def test_workers_serve_in_parallel(hearthd, tmp_path):
    srv = hearthd("basic:app", workers=2, ready_workers=2)
    d = tmp_path / "barrier"
    d.mkdir()
    url = f"/barrier?dir={d}&n=2&max=5"
    with cf.ThreadPoolExecutor(2) as pool:
        bodies = [r.json() for r in pool.map(lambda _: hhttp.get(srv.port, url, timeout=15),
                                              range(2))]
    assert all(b["ok"] for b in bodies), bodies
    assert len({b["pid"] for b in bodies}) == 2


def test_request_timeout_504_and_worker_replaced(hearthd):
    srv = hearthd("basic:app", "--timeout", "1s", workers=1, ready_workers=1)
    before = srv.worker_pids()
    t0 = time.monotonic()
    r = hhttp.get(srv.port, "/sleep?ms=8000", timeout=15)
    elapsed = time.monotonic() - t0
    assert r.status == 504
    # timeout is 1 s; margin: 1 s for a loaded 2-core machine under ASan.
    assert 0.95 <= elapsed < 2.0, f"timeout is 1s, the 504 came after {elapsed:.2f}s"
    srv.wait_log(r"worker \d+ ready pid=", count=2, timeout=15)
    assert srv.worker_pids() != before, "the stuck worker was not replaced"
    assert hhttp.get(srv.port, "/", timeout=15).status == 200
