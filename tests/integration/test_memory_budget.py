"""memory_budget holds from the first fork (issue 15): workers are admitted against
the budget before they grow, and a reload replaces them within it. A sampler sums
the PSS of hearthd's whole process tree (zygotes and workers) every 50 ms from
the start through a `hearthctl reload` and must never see more than the budget.

The app (lc_budget) writes LC_BUDGET_MB of private memory at import: with preload
off every worker carries it; with preload on the zygote does (and a reload starts
a second zygote that imports it again)."""
import json
import os
import re
import subprocess
import threading
import time

import urllib.request

import pytest

from lifecycle_util import ctl, get, ready_workers, start, status, wait_status

BALLAST_MB = 70
BUDGET_MB = 200  # lazy: zygote (~15 MiB) + 2 workers of ~75 MiB fit, a third does not


def _children(pid):
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(p) for p in f.read().split()]
    except OSError:
        pass
    return out


def _tree_pss(root):
    """Sum of Pss (bytes) over every descendant of `root` (not root itself)."""
    total, todo, seen = 0, _children(root), set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) << 10
                        break
        except OSError:
            continue  # exited between the listing and the read
        todo += _children(pid)
    return total


class Sampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.samples = []  # (t, bytes)
        self.stop_event = threading.Event()

    def run(self):
        t0 = time.monotonic()
        while not self.stop_event.is_set():
            self.samples.append((time.monotonic() - t0, _tree_pss(self.pid)))
            self.stop_event.wait(0.05)

    def peak(self):
        return max(self.samples, key=lambda s: s[1]) if self.samples else (0, 0)


@pytest.mark.parametrize("mode", ["--no-preload", "--preload"])
def test_memory_budget_is_never_exceeded_from_start_through_reload(hearthd, tmp_path, mode):
    budget = BUDGET_MB << 20
    toml = (f'env = {{ LC_BUDGET_MB = "{BALLAST_MB}" }}\n'
            f'memory_budget = "{BUDGET_MB}MiB"\nmemory_interval = "500ms"\n')
    srv, sock = start(hearthd, tmp_path, "lc_budget:app", mode, workers=4, toml=toml, wait=False)
    sampler = Sampler(srv.pid)
    sampler.start()
    try:
        srv.wait_ready(20)
        # Settled: every live worker ready, as many as the budget holds.
        st = wait_status(sock, lambda s: s["phase"] == "running" and s["reload"] == "none"
                         and all(w["state"] == "ready" for w in s["workers"]), 20,
                         "the pool to settle under memory_budget")
        settled = len(ready_workers(st))
        if mode == "--no-preload":
            # The ballast is private to each worker: 2 fit, never 4.
            assert settled == 2, f"lazy workers under a {BUDGET_MB} MiB budget: {settled}\n{srv.log_tail()}"
        assert st["memory_budget_exceeded"] is False, st
        assert st["restarts"] == 0, f"budget decisions counted as restarts: {st['restarts']}"
        gen = st["generation"]

        r = ctl(sock, "reload", timeout=60)
        assert r.returncode == 0, f"reload failed: {r.stdout}{r.stderr}\n{srv.log_tail()}"
        st = wait_status(sock, lambda s: s["generation"] == gen + 1 and s["reload"] == "none"
                         and all(w["state"] == "ready" for w in s["workers"]) and ready_workers(s),
                         20, "the new generation to serve")
        assert all(get(srv.port, "/")[0] == 200 for _ in range(4))
        time.sleep(0.3)  # a few samples after the old generation's last exit
    finally:
        sampler.stop_event.set()
        sampler.join(5)
    t, peak = sampler.peak()
    assert len(sampler.samples) >= 10, f"too few samples: {len(sampler.samples)}"
    over = [(round(t, 2), s >> 20) for t, s in sampler.samples if s > budget]
    assert not over, (f"{mode}: the app's tree went over memory_budget {BUDGET_MB} MiB "
                      f"(peak {peak >> 20} MiB at {t:.2f}s; over at {over[:10]})\n{srv.log_tail(80)}")
    print(f"{mode}: {len(sampler.samples)} samples, peak {peak >> 20} MiB at {t:.2f}s, budget {BUDGET_MB} MiB")
    # The sampler saw the app for real (the ballast is in the tree).
    assert peak > BALLAST_MB << 20, f"peak {peak >> 20} MiB: the sampler missed the app"


def test_scale_above_the_budget_says_it_was_capped(hearthd, tmp_path):
    toml = (f'env = {{ LC_BUDGET_MB = "{BALLAST_MB}" }}\n'
            f'memory_budget = "{BUDGET_MB}MiB"\nmemory_interval = "500ms"\n')
    srv, sock = start(hearthd, tmp_path, "lc_budget:app", "--no-preload", workers=1, toml=toml)
    wait_status(sock, lambda s: len(ready_workers(s)) == 1 and s["workers"][0].get("uss_bytes"), 10,
                "one measured worker")
    r = ctl(sock, "scale", "4")
    assert r.returncode == 0, r.stderr
    assert re.search(r"asked for 4 worker\(s\); capped to 2 by memory_budget \(200 MiB\)", r.stdout), r.stdout
    st = wait_status(sock, lambda s: len(ready_workers(s)) == 2, 15, "two workers")
    time.sleep(1.2)  # two memory samples: no third worker
    st = status(sock)
    assert len([w for w in st["workers"] if w["state"] != "dead"]) == 2, st
    assert st["desired_workers"] == 4 and st["effective_workers"] == 2, st
    # Down again: a scale-down is not a restart.
    r = ctl(sock, "scale", "1")
    assert r.returncode == 0 and "capped" not in r.stdout, r.stdout
    st = wait_status(sock, lambda s: len(s["workers"]) == 1, 15, "one worker left")
    assert st["restarts"] == 0, st


def test_a_budget_that_cannot_be_met_is_said_plainly(hearthd, tmp_path):
    # Preloaded, the zygote alone holds the 70 MiB ballast: a 40 MiB budget cannot be met.
    toml = (f'env = {{ LC_BUDGET_MB = "{BALLAST_MB}" }}\n'
            'memory_budget = "40MiB"\nmemory_interval = "200ms"\n')
    srv, sock = start(hearthd, tmp_path, "lc_budget:app", "--preload", workers=3, toml=toml)
    st = wait_status(sock, lambda s: s.get("memory_budget_exceeded"), 10, "the budget reported as unmet")
    assert len([w for w in st["workers"] if w["state"] != "dead"]) == 1, st
    srv.wait_log(re.compile(r"warn.*memory_budget 40 MiB cannot be met: the app uses \d+ MiB with one worker"),
                 timeout=5)
    r = ctl(sock, "status")
    assert "CANNOT BE MET" in r.stdout, r.stdout
    code, body = get(srv.port, "/")
    assert code == 200
    m = re.search(r'^hearth_memory_budget_exceeded\{app="app"\} 1$',
                  urllib.request.urlopen(srv.admin_url + "/metrics", timeout=5)
                  .read().decode(), re.M)
    assert m, "hearth_memory_budget_exceeded is not 1 in /metrics"


def test_recycling_under_a_tight_budget_stops_the_old_worker_first(hearthd, tmp_path):
    # Room for one lazy worker, not two: a recycled worker must exit before its
    # replacement starts, and every request is still answered (it waits in the queue).
    budget_mib = 130
    toml = (f'env = {{ LC_BUDGET_MB = "{BALLAST_MB}" }}\n'
            f'memory_budget = "{budget_mib}MiB"\nmemory_interval = "500ms"\n')
    srv, sock = start(hearthd, tmp_path, "lc_budget:app", "--no-preload", "--max-requests", "3", workers=1,
                      toml=toml, wait=False)
    sampler = Sampler(srv.pid)
    sampler.start()
    try:
        srv.wait_ready(20)
        wait_status(sock, lambda s: len(ready_workers(s)) == 1 and ready_workers(s)[0].get("uss_bytes"), 10,
                    "one measured worker")
        results = [get(srv.port, "/", timeout=30) for _ in range(8)]
    finally:
        sampler.stop_event.set()
        sampler.join(5)
    assert all(code == 200 for code, _ in results), results
    pids = {json.loads(body)["pid"] for _, body in results}
    assert len(pids) >= 2, f"no recycling happened: {pids}\n{srv.log_tail()}"
    assert re.search(r"no room for a second worker beside worker \d+: it stops before its replacement",
                     srv.log()), srv.log_tail()
    t, peak = sampler.peak()
    over = [(round(t, 2), s >> 20) for t, s in sampler.samples if s > budget_mib << 20]
    assert not over, f"over memory_budget {budget_mib} MiB while recycling: {over[:10]}\n{srv.log_tail(60)}"
    assert peak > BALLAST_MB << 20, f"peak {peak >> 20} MiB: the sampler missed the app"


TWO_APPS = """
control_socket = "{sock}"
total_memory_budget = "{total}MiB"
memory_interval = "500ms"
preload = false
env = {{ LC_BUDGET_MB = "{ballast}" }}

[[apps]]
name = "a"
app = "lc_budget:app"
hosts = ["a.test"]
workers = 3

[[apps]]
name = "b"
app = "lc_budget:app"
workers = 3
"""


def test_total_memory_budget_holds_for_every_app_together(hearthd, tmp_path):
    # Two lazy apps of 3 workers each (~75 MiB per worker, ~15 MiB per zygote) under one
    # 300 MiB total: 3 workers fit in all (30 + 3 x 75), never the 6 asked for; each app
    # keeps at least one. The sum of both apps' trees never goes over the total.
    from lifecycle_util import socket_path
    total_mb = 300
    sock = socket_path(tmp_path)
    srv = hearthd(None, toml=TWO_APPS.format(sock=sock, total=total_mb, ballast=BALLAST_MB), wait=False)
    sampler = Sampler(srv.pid)
    sampler.start()
    try:
        srv.wait_ready(30)

        def settled(doc):
            apps = doc.get("apps", [])
            return len(apps) == 2 and all(
                a["phase"] == "running" and a["workers"] and all(w["state"] == "ready" for w in a["workers"])
                for a in apps)

        deadline = time.monotonic() + 30
        doc = None
        while time.monotonic() < deadline:
            r = ctl(sock, "--json", "status")
            doc = json.loads(r.stdout) if r.returncode == 0 else None
            if doc and settled(doc):
                time.sleep(1.5)  # three more memory samples: nothing else starts
                doc = json.loads(ctl(sock, "--json", "status").stdout)
                if settled(doc):
                    break
            time.sleep(0.2)
        assert doc and settled(doc), f"the apps never settled: {doc}\n{srv.log_tail(60)}"
        ready = {a["name"]: len(ready_workers(a)) for a in doc["apps"]}
        assert all(n >= 1 for n in ready.values()), ready
        assert sum(ready.values()) < 6, f"{ready}: the total budget did not cap anything\n{srv.log_tail(60)}"
        assert re.search(r"share of total_memory_budget", srv.log()), srv.log_tail(60)
        for host in ("a.test", "other.test"):
            r = urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{srv.port}/",
                                                              headers={"Host": host}), timeout=10)
            assert r.status == 200
    finally:
        sampler.stop_event.set()
        sampler.join(5)
    t, peak = sampler.peak()
    over = [(round(t, 2), s >> 20) for t, s in sampler.samples if s > total_mb << 20]
    assert not over, (f"both apps' trees went over total_memory_budget {total_mb} MiB (peak {peak >> 20} MiB "
                      f"at {t:.2f}s; over at {over[:10]})\n{srv.log_tail(80)}")
    assert peak > 2 * BALLAST_MB << 20, f"peak {peak >> 20} MiB: the sampler missed the apps"
    print(f"total budget: ready {ready}, peak {peak >> 20} MiB, total {total_mb} MiB")


def test_total_memory_budget_inside_an_app_block_is_refused(tmp_path):
    from conftest import HEARTHD
    conf = tmp_path / "h.toml"
    conf.write_text('[[apps]]\nname = "a"\napp = "lc_budget:app"\ntotal_memory_budget = "1GiB"\n')
    r = subprocess.run([str(HEARTHD), "--check-config", "-c", str(conf)], capture_output=True, text=True,
                       timeout=30, stdin=subprocess.DEVNULL)
    assert r.returncode != 0 and "total_memory_budget" in r.stderr, r
