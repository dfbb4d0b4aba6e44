"""Rolling reload (issue 3): a new generation under constant load with and without
preload, and a reload of broken code that aborts while the old generation keeps
serving. The app (apps/lc_version.py) is copied into a temp dir so the test can
change its VERSION file and its code."""
import re
import threading
import time

import pytest

from conftest import poll
from lifecycle_util import (copy_app, ctl, get, get_many, parse_wrk, ready_workers, start,
                            start_wrk, status, write_version)

MODES = [pytest.param("--preload", id="preload"), pytest.param("--no-preload", id="lazy")]
WRK_SECONDS = 12
RELOADS = 5


@pytest.mark.parametrize("mode", MODES)
def test_five_reloads_under_wrk_load_lose_nothing(hearthd, tmp_path, mode):
    app_dir = copy_app(tmp_path, "lc_version", "v0")
    srv, sock = start(hearthd, tmp_path, "lc_version:app", mode, "--graceful-timeout", "10s",
                      workers=2, ready_workers=2, chdir=app_dir)
    assert get(srv.port)[1].startswith("version=v0 ")

    wrk, wrk_out = start_wrk(srv.url + "/", WRK_SECONDS, threads=2, connections=64,
                             out_dir=tmp_path)
    try:
        # Reload only once wrk's traffic is flowing through the workers.
        poll(lambda: sum(w["requests"] for w in status(sock)["workers"]) > 200, 10,
             interval=0.05, what="wrk's requests to reach the workers")
        outcomes = []
        for i in range(1, RELOADS + 1):
            write_version(app_dir, f"v{i}")
            t0 = time.monotonic()
            r = ctl(sock, "reload")
            outcomes.append((r.returncode, r.stdout.strip(), r.stderr.strip(),
                             round(time.monotonic() - t0, 2)))
            assert r.returncode == 0, f"reload {i} failed: {outcomes[-1]}\n{srv.log_tail()}"
            assert f"generation {i + 1}" in r.stdout, outcomes[-1]
        still_loaded = wrk.poll() is None
        wrk.wait(timeout=WRK_SECONDS + 20)
    finally:
        if wrk.poll() is None:
            wrk.kill()
            wrk.wait(timeout=5)
    out = wrk_out.read_text(errors="replace")
    assert still_loaded, (f"the {RELOADS} reloads outlasted wrk's {WRK_SECONDS} s, so they were "
                          f"not all under load: {outcomes}")
    facts = parse_wrk(out)
    assert facts["requests"] > 0, f"wrk made no requests:\n{out}"
    assert not facts["non_2xx_line"], f"non-2xx responses during the reloads:\n{out}"
    assert not facts["socket_errors_line"], f"socket errors during the reloads:\n{out}"

    bodies = [b for _, b in get_many(srv.port, "/", 20)]
    assert all(b.startswith(f"version=v{RELOADS} ") for b in bodies), bodies
    st = status(sock)
    assert st["generation"] == RELOADS + 1, st
    assert st["reload"] == "none"
    live = [w for w in st["workers"] if w["state"] != "dead"]
    assert {w["generation"] for w in live} == {RELOADS + 1}, st["workers"]
    assert len(ready_workers(st)) == 2, st["workers"]


def _break_module(app_dir, marker):
    path = app_dir / "lc_version.py"
    good = path.read_text()
    path.write_text(f"raise RuntimeError({marker!r})\n" + good)
    return good


class _Prober:
    """GETs / in a loop on its own thread and records every (status, body)."""

    def __init__(self, port):
        self.port = port
        self.results = []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.results.append(get(self.port, "/", timeout=5))
            time.sleep(0.01)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join(timeout=10)


@pytest.mark.parametrize("mode", MODES)
def test_reload_of_broken_code_aborts_and_old_generation_serves(hearthd, tmp_path, mode):
    app_dir = copy_app(tmp_path, "lc_version", "v1")
    srv, sock = start(hearthd, tmp_path, "lc_version:app", mode,
                      "-e", "PYTHONDONTWRITEBYTECODE=1",
                      workers=2, ready_workers=2, chdir=app_dir)
    old_pids = {w["pid"] for w in ready_workers(status(sock))}
    marker = f"lc-broken-import-{mode.strip('-')}-{time.monotonic_ns()}"
    good = _break_module(app_dir, marker)
    write_version(app_dir, "v2")

    with _Prober(srv.port) as probe:
        r = ctl(sock, "reload")
        time.sleep(0.3)  # a few more probes after the abort
    out = r.stdout + r.stderr
    assert r.returncode != 0, f"reload of broken code reported success: {out}"
    assert marker in out, f"hearthctl did not print the exception message:\n{out}"
    assert "Traceback" in out, out
    assert "aborted" in out, out

    assert len(probe.results) >= 3, probe.results
    bad = [x for x in probe.results if x[0] != 200 or not x[1].startswith("version=v1 ")]
    assert not bad, f"old generation did not keep answering: {bad[:5]}"
    after = get_many(srv.port, "/", 10)
    assert all(s == 200 and b.startswith("version=v1 ") for s, b in after), after

    st = status(sock)
    assert st["generation"] == 1, st
    assert st["reload"] == "none", st
    assert {w["pid"] for w in ready_workers(st)} == old_pids, st["workers"]
    log = srv.log()
    assert re.search(r"reload to generation 2 aborted: .*generation 1 keeps serving", log), \
        srv.log_tail()
    assert marker in log
    if mode == "--no-preload":
        # Lazy: the zygote does not import the app; the canary worker does, and fails.
        assert re.search(r"aborted: a worker of the new generation (failed to boot|exited before)",
                         log), srv.log_tail()
    else:
        assert "aborted: the new code failed to import" in log, srv.log_tail()

    # Fixed code: the next reload goes through (generation 3; 2 was the aborted one).
    (app_dir / "lc_version.py").write_text(good)
    r = ctl(sock, "reload")
    assert r.returncode == 0 and "generation 3" in r.stdout, (r.stdout, r.stderr, srv.log_tail())
    assert all(b.startswith("version=v2 ") for _, b in get_many(srv.port, "/", 10))
    assert status(sock)["generation"] == 3
