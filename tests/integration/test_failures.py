"""Worker failures (issue 3): a crash loop backs off instead of spinning, a SIGKILLed
worker is replaced, and a hanging request is answered 504 with the worker's Python
stack in the log and the worker replaced."""
import concurrent.futures as cf
import os
import re
import signal
import time

import pytest

from conftest import http_status, pid_exited, poll, wait_exited
from lifecycle_util import ctl, get, get_many, log_times, ready_workers, start, status, wait_status

EXIT_RE = r"\[worker \d+\] exited pid=\d+"
WINDOW = 5.0


@pytest.mark.parametrize("mode", [
    pytest.param("--no-preload", id="lazy-import-exits"),
    pytest.param("--preload", id="preload-post-fork-exits"),
])
def test_crash_loop_backs_off_and_is_reported(hearthd, tmp_path, mode):
    toml = 'env = { LC_CRASH = "1" }\n'
    if mode == "--preload":
        toml += '[hooks]\npost_fork = "lc_crash:post_fork"\n'
    srv, sock = start(hearthd, tmp_path, "lc_crash:app", mode, workers=1, toml=toml,
                      wait=False)
    srv.wait_log(r"crash loop", timeout=20)
    # From the first "crash loop" line on, worker deaths must slow down (backoff).
    t0 = time.time()
    first = log_times(srv.log(), "crash loop")[0]
    time.sleep(max(0.0, first + WINDOW - t0))
    assert srv.proc.poll() is None, f"hearthd died in the crash loop:\n{srv.log_tail()}"
    log = srv.log()
    exits = [t for t in log_times(log, EXIT_RE)]
    in_window = [t for t in exits if first < t <= first + WINDOW]
    # 100 ms doubling from the 2nd early death: the 6th+ starts are >= 0.8 s apart, so at
    # most ~3 in 5 s. Without backoff a failing import takes ~50 ms: ~100 in 5 s.
    assert len(in_window) <= 5, (f"{len(in_window)} worker exits in {WINDOW}s after the crash "
                                 f"loop was detected: not backing off\n{srv.log_tail(30)}")
    # Each "crash loop ... next start in D ms" line is honoured: no worker starts (and
    # so none dies) sooner than D after it, and D doubles.
    loop_re = r"crash loop: \d+ workers in a row died early; next start in (\d+) ms"
    delays = [int(x) for x in re.findall(loop_re, log)]
    when = log_times(log, loop_re)
    assert len(delays) >= 2 and len(delays) == len(when), delays
    assert all(b == min(2 * a, 30000) for a, b in zip(delays, delays[1:])), \
        f"backoff does not double: {delays}"
    assert delays[-1] >= 1600, delays
    for t, d in zip(when, delays):
        nxt = [e for e in exits if e > t + 0.001]
        if nxt:
            assert nxt[0] - t >= d / 1000 - 0.05, \
                f"a worker died {nxt[0] - t:.3f}s after 'next start in {d} ms'"
    assert len(exits) <= 12, f"{len(exits)} worker deaths in ~6 s: {exits}"

    st = status(sock)
    assert st["crash_loop"] is True, st
    assert st["ready_workers"] == 0
    table = ctl(sock, "status")
    assert table.returncode == 0 and "CRASH LOOP" in table.stdout, table.stdout
    assert http_status(srv.admin_url + "/readyz") == 503
    assert srv.proc.poll() is None, "hearthd exited"


def test_sigkilled_worker_is_replaced(hearthd, tmp_path):
    srv, sock = start(hearthd, tmp_path, "lc_version:app", workers=2, ready_workers=2)
    before = {w["pid"] for w in ready_workers(status(sock))}
    assert len(before) == 2
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    assert wait_exited([victim], 5) == []
    # Right away, while the replacement boots: the survivor takes every request.
    during = get_many(srv.port, "/", 10, concurrency=2)
    assert all(s == 200 for s, _ in during), f"requests failed after the SIGKILL: {during}"
    st = wait_status(sock, lambda s: len(ready_workers(s)) == 2
                     and victim not in {w["pid"] for w in s["workers"]}, 10,
                     "a replacement for the SIGKILLed worker")
    after = {w["pid"] for w in ready_workers(st)}
    new = after - before
    assert len(new) == 1 and victim not in after, (before, after)
    assert st["restarts"] >= 1 and st["crash_loop"] is False, st
    srv.wait_log(rf"exited pid={victim} \(.*(SIGKILL|signal 9|killed)", timeout=5)
    results = get_many(srv.port, "/", 20, concurrency=2)
    assert all(s == 200 for s, _ in results), results
    served = {int(b.split("pid=")[1]) for _, b in results}
    assert served <= after, (served, after)


def test_hanging_request_gets_504_stack_dump_and_replacement(hearthd, tmp_path):
    srv, sock = start(hearthd, tmp_path, "lc_hang:app", "--timeout", "1s", workers=2,
                      ready_workers=2)
    with cf.ThreadPoolExecutor(1) as pool:
        t0 = time.monotonic()
        fut = pool.submit(get, srv.port, "/hang", 10)
        st = wait_status(sock, lambda s: any(w["current_request"] == "GET /hang"
                                             for w in s["workers"]), 2, "the /hang request")
        hung = next(w["pid"] for w in st["workers"] if w["current_request"] == "GET /hang")
        # The other worker keeps serving while one hangs.
        during = get_many(srv.port, "/", 3, timeout=5)
        code, body = fut.result(timeout=10)
        elapsed = time.monotonic() - t0
    assert all(s == 200 and f"pid={hung}" not in b for s, b in during), during
    assert code == 504, (code, body)
    assert elapsed < 2.5, f"504 after {elapsed:.2f}s with --timeout 1s"

    srv.wait_log(r'File "[^"]*lc_hang\.py", line \d+ in lc_hang_forever', timeout=5)
    log = srv.log()
    assert re.search(r"Thread 0x[0-9a-f]+ .*most recent call first", log), srv.log_tail()
    assert wait_exited([hung], 5) == [], "the hung worker was not killed"
    st = wait_status(sock, lambda s: len(ready_workers(s)) == 2
                     and hung not in {w["pid"] for w in s["workers"]}, 10,
                     "a replacement for the timed-out worker")
    after = get_many(srv.port, "/", 10, concurrency=2)
    assert all(s == 200 for s, _ in after), after
    srv.wait_log(rf"exited pid={hung} .*reason timeout", timeout=5)


@pytest.mark.parametrize("method,retry_methods,expect", [
    pytest.param("GET", None, 200, id="get-retried-by-default"),
    pytest.param("HEAD", None, 200, id="head-retried-by-default"),
    pytest.param("POST", None, 502, id="post-not-retried"),
    pytest.param("GET", "[]", 502, id="retry-off"),
    pytest.param("POST", '["POST"]', 200, id="post-listed"),
])
def test_request_whose_worker_died_before_answering(hearthd, tmp_path, method, retry_methods, expect):
    """retry_methods (issue 8): the worker dies before writing anything; a listed
    method is answered by another worker, any other gets 502."""
    import hhttp
    toml = f"retry_methods = {retry_methods}\n" if retry_methods else None
    srv = hearthd("basic:app", workers=2, ready_workers=2, toml=toml)
    marker = tmp_path / "died"
    r = hhttp.fetch(srv.port, method, f"/die-once?marker={marker}",
                    body=b"x=1" if method == "POST" else b"", timeout=20)
    assert marker.exists(), "the first worker did not run the request"
    assert r.status == expect, r
    if expect == 200 and method != "HEAD":
        assert b"survived pid=" in r.body
    srv.wait_log(r"exited pid=\d+", timeout=10)
    if expect == 200:
        srv.wait_log(r"died before answering " + method + r" /die-once.*retrying", timeout=5)
    else:
        assert "retrying on another worker" not in srv.log()
