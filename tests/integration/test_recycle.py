"""Recycling and capacity (issue 3): max_requests, max_worker_memory on USS, the
memory budget, and autoscaling between min_workers and max_workers."""
import concurrent.futures as cf
import json
import re
import threading
import time

from conftest import poll, wait_exited
from lifecycle_util import get, ready_workers, start, status, wait_status


def _pid(body):
    return json.loads(body)["pid"]


def test_max_requests_recycles_without_dropping_capacity(hearthd, tmp_path):
    srv, sock = start(hearthd, tmp_path, "lc_version:app", "--max-requests", "10",
                      workers=1, ready_workers=1)
    # The old worker serves until its replacement is ready (~50 ms to boot), so the
    # requests take 40 ms each: 15 requests after the 10th leave the replacement 0.6 s.
    results = [get(srv.port, "/sleep?ms=40") for _ in range(25)]
    bad = [r for r in results if r[0] != 200]
    assert not bad, f"requests failed while recycling: {bad}\n{srv.log_tail()}"
    pids = [int(re.search(r"pid=(\d+)", b).group(1)) for _, b in results]
    assert len(set(pids)) >= 2, f"one worker served all 25 requests with --max-requests 10: {pids}"
    # Each pid served one contiguous run of requests (one worker at a time, -w 1).
    runs = [p for i, p in enumerate(pids) if i == 0 or pids[i - 1] != p]
    assert len(runs) == len(set(runs)), pids
    assert re.search(r"recycling worker \d+ \(max_requests\)", srv.log()), srv.log_tail()
    srv.wait_log(r"exited pid=\d+ .*reason max_requests", timeout=5)


def test_leaking_worker_is_recycled_on_private_memory(hearthd, tmp_path):
    # 48 MiB of preloaded ballast puts every worker's RSS over the 40 MiB limit from
    # the start; only the private memory (USS) the leak adds may trigger recycling.
    toml = ('max_worker_memory = "40MiB"\nmemory_interval = "200ms"\n'
            'env = { LC_LEAK_MB = "2", LC_LEAK_SHARED_MB = "48" }\n')
    srv, sock = start(hearthd, tmp_path, "lc_leak:app", "--preload", workers=1, ready_workers=1,
                      toml=toml)
    st = status(sock)
    first = ready_workers(st)[0]
    assert first["rss_bytes"] > 40 << 20, f"ballast not in the worker's RSS: {first}"
    assert first["uss_bytes"] < 30 << 20, f"preloaded ballast counted as private: {first}"
    # Idle for a few memory samples: the large RSS alone must not recycle it.
    time.sleep(0.7)
    assert [w["pid"] for w in ready_workers(status(sock))] == [first["pid"]], \
        f"recycled on RSS, not USS\n{srv.log_tail()}"

    results = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        code, body = get(srv.port, "/")
        results.append((code, body))
        if code != 200 or _pid(body) != first["pid"]:
            break
        time.sleep(0.05)
    bad = [r for r in results if r[0] != 200]
    assert not bad, f"requests failed while recycling: {bad}\n{srv.log_tail()}"
    served = [json.loads(b) for _, b in results]
    assert served[-1]["pid"] != first["pid"], \
        f"the leaking worker was not recycled after {len(results)} requests\n{srv.log_tail()}"
    held = max(s["held_mb"] for s in served if s["pid"] == first["pid"])
    assert held >= 30, f"recycled too early: only {held} MiB leaked"
    log = srv.log()
    assert re.search(r"private memory \d+ MiB is over max_worker_memory 40 MiB; recycling it",
                     log), srv.log_tail()
    assert re.search(r"recycling worker \d+ \(memory\)", log), srv.log_tail()
    assert wait_exited([first["pid"]], 10) == [], "the recycled worker did not exit"
    srv.wait_log(rf"exited pid={first['pid']} .*reason memory", timeout=5)
    # The new worker keeps serving.
    more = [get(srv.port, "/info") for _ in range(5)]
    assert all(c == 200 for c, _ in more), more


def test_memory_budget_caps_the_worker_count(hearthd, tmp_path):
    env = 'env = { LC_BUDGET_MB = "30" }\n'
    # Measure what one worker of this app really costs here.
    probe, psock = start(hearthd, tmp_path / "probe", "lc_budget:app", "--no-preload",
                         workers=1, ready_workers=1, toml=env + 'memory_interval = "200ms"\n')
    st = wait_status(psock, lambda s: ready_workers(s) and "uss_bytes" in ready_workers(s)[0]
                     and "zygote_memory" in s, 10, "memory figures")
    uss = ready_workers(st)[0]["uss_bytes"]
    zrss = st["zygote_memory"]["rss_bytes"]
    assert uss > 30 << 20, f"the 30 MiB ballast is not private to the worker: {uss}"
    assert probe.stop() == 0
    budget_mib = (zrss + 2.5 * uss) // (1 << 20)  # room for 2 workers, not 3

    srv, sock = start(hearthd, tmp_path, "lc_budget:app", "--no-preload", workers=6,
                      toml=env + f'memory_budget = "{int(budget_mib)}MiB"\n'
                                 'memory_interval = "200ms"\n')
    st = wait_status(sock, lambda s: s.get("memory_budget_cap") is not None
                     and len([w for w in s["workers"] if w["state"] != "dead"]) == s["effective_workers"]
                     and len(ready_workers(s)) == s["effective_workers"], 20,
                     "the worker count to settle under memory_budget")
    z = st["zygote_memory"]["rss_bytes"]
    max_uss = max(w["uss_bytes"] for w in ready_workers(st))
    expected = int((budget_mib * (1 << 20) - z) // max_uss)
    summary = (f"budget {budget_mib} MiB, zygote RSS {z >> 20} MiB, worker USS {max_uss >> 20} MiB"
               f" -> {expected}; status: desired {st['desired_workers']} effective "
               f"{st['effective_workers']} cap {st['memory_budget_cap']}")
    assert st["desired_workers"] == 6, summary
    assert st["memory_budget_cap"] == st["effective_workers"], summary
    assert st["effective_workers"] == 2, summary
    assert st["effective_workers"] == expected, summary
    assert len(ready_workers(st)) == 2, summary
    log = srv.log()
    m = re.search(r"memory_budget (\d+) MiB fits (\d+) worker\(s\) .*capping from 6", log)
    assert m, srv.log_tail()
    assert int(m.group(1)) == budget_mib and int(m.group(2)) == 2, m.group(0)
    assert all(get(srv.port, "/")[0] == 200 for _ in range(5))


def test_autoscaling_grows_under_queueing_and_shrinks_when_idle(hearthd, tmp_path):
    toml = 'min_workers = 1\nmax_workers = 3\nidle_timeout = "1s"\n'
    srv, sock = start(hearthd, tmp_path, "lc_version:app", workers=1, ready_workers=1, toml=toml)
    st = status(sock)
    assert st["desired_workers"] == 1 and len(ready_workers(st)) == 1, st

    stop = threading.Event()
    peak = {"ready": 1, "desired": 1}
    failures = []

    def client():
        while not stop.is_set():
            code, body = get(srv.port, "/sleep?ms=300", timeout=20)
            if code != 200:
                failures.append((code, body))

    with cf.ThreadPoolExecutor(6) as pool:
        futs = [pool.submit(client) for _ in range(6)]
        try:
            def sample():
                s = status(sock)
                peak["ready"] = max(peak["ready"], len(ready_workers(s)))
                peak["desired"] = max(peak["desired"], s["desired_workers"])
                peak["procs"] = max(peak.get("procs", 0), len(s["workers"]))
                return s

            # Six clients keep three one-thread workers queueing: it grows to max_workers...
            poll(lambda: sample() and peak["ready"] >= 3, 20, interval=0.1,
                 what="autoscaling up to max_workers = 3 under load")
            # ...and, with requests still queueing, never past it.
            t_end = time.monotonic() + 1.5
            while time.monotonic() < t_end:
                sample()
                time.sleep(0.1)
        finally:
            stop.set()
            for f in futs:
                f.result(timeout=30)
    assert not failures, failures[:5]
    assert peak["desired"] == 3 and peak["ready"] == 3, peak
    assert peak["procs"] <= 3, peak
    assert re.search(r"requests are queueing: adding a worker", srv.log()), srv.log_tail()

    st = wait_status(sock, lambda s: s["desired_workers"] == 1 and len(s["workers"]) == 1
                     and len(ready_workers(s)) == 1, 15, "scaling back to 1 idle worker")
    assert re.search(r"a worker is idle: retiring one", srv.log()), srv.log_tail()
    assert get(srv.port, "/")[0] == 200
