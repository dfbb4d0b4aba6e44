"""Health: active checks eject and replace a worker whose health path fails,
passive ejection after max_consecutive_failures 5xx answers, and the admin
/readyz (503 while loading and while draining) and /healthz (always 200)."""
import signal
import threading
import time

import hhttp
from conftest import http_status, pid_exited, poll, wait_exited
from hw_helpers import events, metric, metric_at_least, scrape


def _pid_of(srv):
    return int(hhttp.get(srv.port, "/").body.split()[1])


def test_failing_health_path_ejects_and_replaces_the_worker(hearthd):
    # The health path answers 200 three times per process (the admission check and two
    # rounds), then 500; two failures in a row eject the worker.
    toml = ('[health]\npath = "/health"\ninterval = "200ms"\ntimeout = "1s"\n'
            'unhealthy_threshold = 2\nhealthy_threshold = 1\n')
    srv = hearthd("hw_app:app", "--env", "HW_HEALTH_OK=3", workers=1, toml=toml)
    first = srv.worker_pids()[1]
    assert _pid_of(srv) == first
    srv.wait_log(r"worker 1 failed its health check \(status 500\), 2 in a row", timeout=10)
    srv.wait_log(r"ejecting worker 1: failed 2 health checks; starting a replacement", timeout=5)
    # A replacement with a new pid takes over; the ejected worker exits.
    poll(lambda: any(p != first for p in srv.worker_pids().values()), 10, what="a replacement worker")
    assert not wait_exited([first], 10), "the ejected worker is still running"
    poll(lambda: http_status(srv.admin_url + "/readyz") == 200, 10, what="ready again")
    assert _pid_of(srv) != first
    text = scrape(srv)
    assert metric(text, "hearth_health_ejections_total") >= 1
    assert metric(text, "hearth_health_checks_total", result="failed") >= 2
    assert metric(text, "hearth_health_checks_total", result="ok") >= 1
    assert metric(text, "hearth_worker_restarts_total", reason="health") >= 1


def test_passive_ejection_after_max_consecutive_failures(hearthd):
    srv = hearthd("hw_app:app", workers=1, toml="[health]\nmax_consecutive_failures = 5\n")
    first = srv.worker_pids()[1]
    # Four 5xx, then a success, resets the run: no ejection.
    for _ in range(4):
        assert hhttp.get(srv.port, "/status?code=500").status == 500
    assert hhttp.get(srv.port, "/").status == 200
    for _ in range(4):
        assert hhttp.get(srv.port, "/status?code=503").status == 503
    assert _pid_of(srv) == first  # (a 200: the run starts again)
    assert "ejecting" not in srv.log()
    for _ in range(5):
        assert hhttp.get(srv.port, "/status?code=500").status == 500
    srv.wait_log(r"ejecting worker 1: 5 failed requests in a row; starting a replacement", timeout=5)
    assert not wait_exited([first], 10), "the ejected worker is still running"
    # The next request is served by the replacement (it waits in the queue if need be).
    assert _pid_of(srv) != first
    assert "ejecting worker 1" in srv.log() and srv.log().count("ejecting") == 1


def test_readyz_503_while_loading_and_draining_healthz_always_200(hearthd, tmp_path):
    ev = tmp_path / "events.jsonl"
    srv = hearthd("hw_slow_import:app", "--env", "HW_IMPORT_SECONDS=2", "--env", f"HW_EVENTS={ev}",
                  "--graceful-timeout", "20s", workers=1, wait=False)
    admin = poll(lambda: srv.admin_url, 10, what="the admin listener")
    # The admin listener is up long before the 2 s import ends.
    assert http_status(admin + "/readyz") == 503
    assert http_status(admin + "/healthz") == 200
    assert not any(e["event"] == "imported" for e in events(ev))
    seen = []
    poll(lambda: seen.append(http_status(admin + "/readyz")) or seen[-1] == 200, 20,
         interval=0.05, what="/readyz 200")
    assert any(e["event"] == "imported" for e in events(ev))
    assert http_status(admin + "/healthz") == 200

    # An in-flight slow request keeps the daemon draining after SIGTERM.
    result = {}

    def slow():
        result["r"] = hhttp.get(srv.port, "/sleep?ms=3500", timeout=20)

    t = threading.Thread(target=slow)
    t.start()
    try:
        poll(lambda: any(e.get("path") == "/sleep" for e in events(ev)), 10, what="the slow request in the app")
        srv.send_signal(signal.SIGTERM)
        srv.wait_log(r"graceful shutdown", timeout=5)
        draining = []
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            draining.append((http_status(admin + "/readyz", timeout=1), http_status(admin + "/healthz", timeout=1)))
            time.sleep(0.1)
        assert srv.proc.poll() is None, "hearthd must still be draining the slow request"
    finally:
        t.join(timeout=20)
    assert draining and all(r == 503 for r, _ in draining), draining
    assert all(h == 200 for _, h in draining), draining
    assert result["r"].status == 200 and result["r"].body == b"model says hi\n"
    assert srv.wait_exit(10) == 0
