"""Dispatch ahead (docs/worker-protocol.md "Dispatch ahead", issue 14): a GET waiting
while the only WSGI worker is busy is written behind the current one. Whatever happens to
the current request, the one queued ahead is answered: the worker dies or times out before
the current END (it was never started: sent elsewhere), the worker is recycled after
max_requests; queue_timeout still gives it 503, and a worker that frees up meanwhile takes
it (the busy one is told to skip it); the key off. One thread per worker, so "busy" is
certain; basic:app's /block holds a request until a file appears. Loopback only; every
process is stopped by PID (the hearthd fixture)."""
import os
import signal
import threading

import pytest

import hhttp
from conftest import poll
from hw_helpers import metric, metric_at_least, scrape


ON = "dispatch_ahead = true\n"  # the default; said so that these tests keep testing it


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


def _get_queued_ahead(srv, path="/p/ahead"):
    """A GET sent while the worker is busy; returns once hearthd has written it ahead."""
    t, out = _in_thread(hhttp.get, srv.port, path, timeout=30)
    metric_at_least(srv, "hearth_requests_sent_ahead_total", 1, outcome="sent")
    return t, out


def test_a_request_queued_ahead_of_one_whose_worker_dies_is_sent_elsewhere(hearthd, tmp_path):
    # retry_methods empty: the ahead request needs no retry, it never started.
    srv = hearthd("basic:app", workers=1, ready_workers=1, toml=ON + "retry_methods = []\n")
    t1, o1, release, pid = _block_first(srv, tmp_path)
    t2, o2 = _get_queued_ahead(srv)
    os.kill(pid, signal.SIGKILL)
    r2 = _result(t2, o2)
    assert r2.status == 200, r2  # never started by the dead worker: sent to its replacement
    assert r2.body == b'{"path": "/p/ahead"}', r2
    r1 = _result(t1, o1)
    assert r1.status == 502, r1
    text = scrape(srv)
    assert metric(text, "hearth_requests_sent_ahead_total", outcome="returned") == 1
    assert metric(text, "hearth_requests_retried_total") == 0


def test_a_request_queued_ahead_of_one_that_times_out_is_sent_elsewhere(hearthd, tmp_path):
    srv = hearthd("basic:app", workers=1, ready_workers=1, toml=ON + 'timeout = "1s"\n')
    t1, o1, _release, _pid = _block_first(srv, tmp_path)  # never released: 504
    t2, o2 = _get_queued_ahead(srv)
    r1 = _result(t1, o1)
    assert r1.status == 504, r1
    r2 = _result(t2, o2)
    assert r2.status == 200 and r2.body == b'{"path": "/p/ahead"}', r2
    assert metric(scrape(srv), "hearth_requests_sent_ahead_total", outcome="returned") == 1


def test_queue_timeout_still_answers_a_request_queued_ahead_and_the_worker_skips_it(hearthd, tmp_path):
    srv = hearthd("basic:app", workers=1, ready_workers=1, toml=ON + 'queue_timeout = "500ms"\n')
    t1, o1, release, _pid = _block_first(srv, tmp_path)
    ran = tmp_path / "ran"
    t2, o2 = _get_queued_ahead(srv, f"/block?started={ran}&release={ran}&max=0")
    r2 = _result(t2, o2)
    assert r2.status == 503 and r2.header("retry-after") == "1", r2
    assert metric(scrape(srv), "hearth_requests_sent_ahead_total", outcome="withdrawn") == 1
    release.write_text("")
    assert _result(t1, o1).status == 200
    # The worker found the CLIENT_GONE behind it and never ran it; the slot is in step.
    assert hhttp.get(srv.port, "/p/after", timeout=10).status == 200
    assert not ran.exists()


def test_a_request_queued_ahead_moves_to_a_worker_that_frees_up(hearthd, tmp_path):
    """Two workers, both blocked; a GET goes ahead behind the first. The second frees up:
    the GET moves there at once instead of waiting for the first, which skips it later."""
    srv = hearthd("basic:app", workers=2, ready_workers=2, toml=ON + "retry_methods = []\n")
    t1, o1, release1, pid1 = _block_first(srv, tmp_path)
    started2, release2 = tmp_path / "started2", tmp_path / "release2"
    t2, o2 = _in_thread(hhttp.get, srv.port, f"/block?started={started2}&release={release2}&max=20", timeout=30)
    poll(lambda: started2.exists() and started2.read_text(), 10, what="the second request runs")
    pid2 = int(started2.read_text())
    assert pid2 != pid1
    ran = tmp_path / "ran"
    t3, o3 = _get_queued_ahead(srv, f"/block?started={ran}&release={ran}&max=0")
    release2.write_text("")
    r3 = _result(t3, o3)
    assert r3.status == 200 and r3.body == b"timeout\n", r3
    assert int(r3.header("x-pid")) == pid2, r3
    assert t1.is_alive(), "the first request is still blocked"
    assert metric(scrape(srv), "hearth_requests_sent_ahead_total", outcome="withdrawn") == 1
    release1.write_text("")
    assert _result(t1, o1).status == 200 and _result(t2, o2).status == 200
    for i in range(4):  # both workers serve on, in step
        assert hhttp.get(srv.port, f"/p/{i}", timeout=10).status == 200
    assert ran.read_text() == str(pid2)  # run once, by the second worker


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


def test_a_post_is_not_sent_ahead(hearthd, tmp_path):
    srv = hearthd("basic:app", workers=1, ready_workers=1, toml=ON)
    t1, o1, release, _pid = _block_first(srv, tmp_path)
    t2, o2 = _in_thread(hhttp.fetch, srv.port, "POST", "/echo", [("Content-Type", "text/plain")], b"x", timeout=30)
    metric_at_least(srv, "hearth_queue_length", 1)
    release.write_text("")
    assert _result(t1, o1).status == 200
    assert _result(t2, o2).status == 200
    assert metric(scrape(srv), "hearth_requests_sent_ahead_total", outcome="sent") == 0


def test_key_off_nothing_is_sent_ahead(hearthd, tmp_path):
    srv = hearthd("basic:app", workers=1, ready_workers=1, toml="dispatch_ahead = false\n")
    t1, o1, release, _pid = _block_first(srv, tmp_path)
    t2, o2 = _in_thread(hhttp.get, srv.port, "/p/x", timeout=30)
    metric_at_least(srv, "hearth_queue_length", 1)
    release.write_text("")
    assert _result(t1, o1).status == 200
    assert _result(t2, o2).status == 200
    assert metric(scrape(srv), "hearth_requests_sent_ahead_total", outcome="sent") == 0
