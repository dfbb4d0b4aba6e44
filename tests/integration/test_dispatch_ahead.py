"""Dispatch ahead (docs/worker-protocol.md "Dispatch ahead", issue 14): a request waiting
while the only WSGI worker is busy is written behind the current one. Whatever happens to
the current request, the one queued ahead is answered: the worker dies or times out before
the current END (it was never started: sent elsewhere, even a POST), the worker is
recycled after max_requests, the key off. One worker, one thread, so "busy" is certain;
basic:app's /block holds a request until a file appears. Loopback only; every process is
stopped by PID (the hearthd fixture)."""
import os
import signal
import threading

import pytest

import hhttp
from conftest import poll
from hw_helpers import metric, metric_at_least, scrape


ON = "dispatch_ahead = true\n"  # off by default (queue_timeout, docs/worker-protocol.md)


def _in_thread(fn, *args, **kw):
    out = {}

    def run():
        try:
            out["r"] = fn(*args, **kw)
        except Exception as e:  # reported by the assertion on the result
            out["e"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


def _result(t, out, timeout=30):
    t.join(timeout)
    assert not t.is_alive(), "the request never finished"
    assert "e" not in out, out.get("e")
    return out["r"]


def _block_first(srv, tmp_path):
    """A GET that holds the worker; returns (thread, out, release path, worker pid)."""
    started, release = tmp_path / "started", tmp_path / "release"
    t, out = _in_thread(hhttp.get, srv.port, f"/block?started={started}&release={release}&max=20", timeout=30)
    poll(lambda: started.exists() and started.read_text(), 10, what="the first request runs")
    return t, out, release, int(started.read_text())


def _post_queued_ahead(srv):
    """A POST sent while the worker is busy; returns once hearthd has written it ahead."""
    t, out = _in_thread(hhttp.fetch, srv.port, "POST", "/echo", [("Content-Type", "text/plain")], b"ahead-body", timeout=30)
    metric_at_least(srv, "hearth_requests_sent_ahead_total", 1, outcome="sent")
    return t, out


def test_a_post_queued_ahead_of_a_request_whose_worker_dies_is_sent_elsewhere(hearthd, tmp_path):
    srv = hearthd("basic:app", workers=1, ready_workers=1, toml=ON)
    t1, o1, release, pid = _block_first(srv, tmp_path)
    t2, o2 = _post_queued_ahead(srv)
    release.write_text("")  # the retried GET (retry_methods has GET) finishes at once
    os.kill(pid, signal.SIGKILL)
    r2 = _result(t2, o2)
    assert r2.status == 200, r2  # never started by the dead worker: sent to its replacement
    assert r2.body == b"ahead-body", r2
    r1 = _result(t1, o1)
    assert r1.status == 200 and r1.body == b"released\n", r1
    text = scrape(srv)
    assert metric(text, "hearth_requests_sent_ahead_total", outcome="returned") == 1
    assert metric(text, "hearth_requests_retried_total") == 1  # the GET; the POST is no retry


def test_a_request_queued_ahead_of_one_that_times_out_is_sent_elsewhere(hearthd, tmp_path):
    srv = hearthd("basic:app", workers=1, ready_workers=1, toml=ON + 'timeout = "1s"\n')
    t1, o1, _release, _pid = _block_first(srv, tmp_path)  # never released: 504
    t2, o2 = _post_queued_ahead(srv)
    r1 = _result(t1, o1)
    assert r1.status == 504, r1
    r2 = _result(t2, o2)
    assert r2.status == 200 and r2.body == b"ahead-body", r2
    assert metric(scrape(srv), "hearth_requests_sent_ahead_total", outcome="returned") == 1


def test_the_timeout_of_a_request_queued_ahead_starts_when_it_does(hearthd, tmp_path):
    """timeout 3 s; two requests of 2 s each on one worker: the second is written ahead at
    once but starts only when the first ends, so neither times out (4 s after its write)."""
    if os.environ.get("HEARTH_SANITIZE"):
        pytest.skip("timing-based: the sanitizer build is too slow for a 1 s margin")
    srv = hearthd("basic:app", workers=1, ready_workers=1, toml=ON + 'timeout = "3s"\n')
    started, release = tmp_path / "started", tmp_path / "release"
    t1, o1 = _in_thread(hhttp.get, srv.port, f"/block?started={started}&release={release}&max=2", timeout=30)
    poll(lambda: started.exists(), 10, what="the first request runs")
    t2, o2 = _in_thread(hhttp.get, srv.port, "/sleep?ms=2000", timeout=30)
    metric_at_least(srv, "hearth_requests_sent_ahead_total", 1, outcome="sent")
    r1, r2 = _result(t1, o1), _result(t2, o2)
    assert r1.status == 200 and r1.body == b"timeout\n", r1  # /block's own 2 s limit
    assert r2.status == 200, r2


def test_recycling_after_max_requests_loses_nothing(hearthd, tmp_path):
    """max_requests 2: the second request may go ahead of the first, the third must not
    (the worker stops after the second); every request is answered 200."""
    srv = hearthd("basic:app", "--max-requests", "2", workers=1, ready_workers=1, toml=ON)
    t1, o1, release, pid = _block_first(srv, tmp_path)
    rest = [_in_thread(hhttp.get, srv.port, f"/p/{i}", timeout=30) for i in range(4)]
    metric_at_least(srv, "hearth_queue_length", 4)
    release.write_text("")
    assert _result(t1, o1).status == 200
    for i, (t, o) in enumerate(rest):
        r = _result(t, o)
        assert r.status == 200, (i, r)
    poll(lambda: metric(scrape(srv), "hearth_requests_sent_ahead_total", outcome="returned") == 0 or None, 5)
    srv.wait_log(r"reason max_requests", timeout=10)


def test_off_by_default_nothing_is_sent_ahead(hearthd, tmp_path):
    srv = hearthd("basic:app", workers=1, ready_workers=1)
    t1, o1, release, _pid = _block_first(srv, tmp_path)
    t2, o2 = _in_thread(hhttp.fetch, srv.port, "POST", "/echo", [("Content-Type", "text/plain")], b"x", timeout=30)
    metric_at_least(srv, "hearth_queue_length", 1)
    release.write_text("")
    assert _result(t1, o1).status == 200
    assert _result(t2, o2).status == 200
    assert metric(scrape(srv), "hearth_requests_sent_ahead_total", outcome="sent") == 0
