"""Warm-up: a worker takes traffic only after its import and its warm-up
requests, so no user request pays for a cold worker; a failing warm-up keeps
the worker out of rotation."""
import re
import threading
import time

import pytest

import hhttp
from conftest import http_status, poll
from hw_helpers import events, metric, metric_at_least, scrape, status_json

IMPORT_S = 3.0
WARMUP = '[[warmup.requests]]\nmethod = "GET"\npath = "/warm"\n'


def _user_requests(ev):
    return [e for e in ev if e.get("event") == "request" and not e["internal"]]


def test_first_request_does_not_pay_the_import(hearthd, tmp_path):
    ev = tmp_path / "events.jsonl"
    sock = tmp_path / "ctl.sock"
    t0 = time.monotonic()
    srv = hearthd("hw_slow_import:app", "--no-preload", "--env", f"HW_EVENTS={ev}",
                  "--env", f"HW_IMPORT_SECONDS={IMPORT_S}", "--control-socket", sock,
                  workers=1, toml=WARMUP, wait=False)
    admin = poll(lambda: srv.admin_url, 10, what="the admin listener")
    poll(lambda: http_status(admin + "/readyz", timeout=1) == 200, 20, interval=0.05, what="/readyz 200")
    ready_after = time.monotonic() - t0
    assert ready_after >= IMPORT_S - 0.2, f"ready after {ready_after:.2f}s: before the import could end"

    start = time.monotonic()
    r = hhttp.get(srv.port, "/")
    first_latency = time.monotonic() - start
    assert r.status == 200 and r.body == b"model says hi\n"
    assert first_latency < 0.5, f"the first user request took {first_latency:.3f}s"

    ev_list = events(ev)
    kinds = [(e.get("event"), e.get("path"), e.get("internal")) for e in ev_list]
    assert kinds[0] == ("imported", None, None), kinds
    assert kinds[1] == ("request", "/warm", "warmup"), kinds
    assert _user_requests(ev_list)[0]["path"] == "/"
    assert ev_list[1]["t"] <= _user_requests(ev_list)[0]["t"]

    # Boot time (the lazy import) and warm-up time are logged and in status.
    m = re.search(r"worker 1 ready pid=\d+ generation=\d+ boot_ms=(\d+) warmup_ms=(\d+)", srv.log())
    assert m, srv.log_tail()
    assert int(m.group(1)) >= (IMPORT_S - 0.2) * 1000
    st = status_json(sock)
    (w,) = [w for w in st["workers"] if w["state"] == "ready"]
    assert w["boot_ms"] >= (IMPORT_S - 0.2) * 1000 and w["warmup_ms"] >= 0
    text = scrape(srv)
    assert metric(text, "hearth_warmups_total", result="ok") == 1
    assert metric(text, "hearth_worker_boot_seconds_count") == 1
    assert metric(text, "hearth_worker_boot_seconds_sum") >= IMPORT_S - 0.2


def test_request_arriving_before_ready_waits_for_import_and_warmup(hearthd, tmp_path):
    ev = tmp_path / "events.jsonl"
    srv = hearthd("hw_slow_import:app", "--no-preload", "--env", f"HW_EVENTS={ev}",
                  "--env", f"HW_IMPORT_SECONDS={IMPORT_S}", workers=1, toml=WARMUP, wait=False)
    poll(lambda: srv.url and srv.admin_url, 10, what="the listeners")
    assert http_status(srv.admin_url + "/readyz") == 503
    r = hhttp.get(srv.port, "/early", timeout=20)  # queued until the worker is admitted
    assert r.status == 200
    kinds = [(e.get("event"), e.get("path"), e.get("internal")) for e in events(ev)]
    assert kinds[:3] == [("imported", None, None), ("request", "/warm", "warmup"), ("request", "/early", "")], kinds


def test_warmup_requests_run_in_order_with_method_headers_and_body(hearthd, tmp_path):
    ev = tmp_path / "events.jsonl"
    toml = ('[[warmup.requests]]\npath = "/warm"\n'
            '[[warmup.requests]]\nmethod = "POST"\npath = "/status?code=204"\n'
            'headers = { X-Request-ID = "warmup-two" }\nbody = "payload"\n')
    srv = hearthd("hw_app:app", "--env", f"HW_EVENTS={ev}", workers=2, ready_workers=2, toml=toml)
    ev_list = events(ev)
    for pid in set(srv.worker_pids().values()):
        mine = [e for e in ev_list if e["pid"] == pid]
        assert [(e["path"], e["internal"]) for e in mine[:2]] == [("/warm", "warmup"), ("/status", "warmup")], mine
        assert mine[1]["rid"] == "warmup-two"
    assert metric(scrape(srv), "hearth_warmups_total", result="ok") == 2


@pytest.mark.parametrize("mode", ["--preload", "--no-preload"])
def test_failed_warmup_is_not_admitted(hearthd, tmp_path, mode):
    # Issue 4: "A worker whose warm-up fails is not admitted and counts as a failed
    # boot", in both modes. (The app imported fine: this is not an import failure.)
    ev = tmp_path / "events.jsonl"
    toml = '[[warmup.requests]]\npath = "/status?code=500"\n'
    srv = hearthd("hw_app:app", mode, "--env", f"HW_EVENTS={ev}", workers=1, toml=toml, wait=False)
    srv.wait_log(r"worker 1\] warm-up failed: warmup request GET /status\?code=500: status 500; not admitted|"
                 r"warm-up failed: .*status 500.*not admitted", timeout=15)
    admin = srv.admin_url
    assert http_status(admin + "/readyz") == 503
    assert http_status(admin + "/healthz") == 200
    poll(lambda: srv.log().count("warm-up failed") >= 2 or srv.proc.poll() is not None, 10,
         what="a second (retried) boot or hearthd's exit")
    assert srv.proc.poll() is None, ("a failed warm-up is a failed boot (retried), not a fatal error\n"
                                     + srv.log_tail(15))
    assert "failed to import" not in srv.log()
    assert "worker 1 ready pid=" not in srv.log()
    # The app saw only warm-up requests: no user traffic reached the unadmitted worker.
    assert all(e["internal"] == "warmup" for e in events(ev))
    metric_at_least(srv, "hearth_warmups_total", 1, result="failed")
    text = scrape(srv)
    assert metric(text, "hearth_warmups_total", result="ok") == 0
    assert metric(text, "hearth_workers", state="ready") == 0
