"""Keep-warm: public pings to keepwarm.url (a loopback server stands in for the
app's public URL) and internal warm-up requests through idle workers."""
import time

import hhttp
from conftest import poll
from hw_helpers import RecordingServer, events, metric, metric_at_least, scrape


def test_public_pings_reach_the_url_on_their_interval(hearthd):
    with RecordingServer() as public:
        toml = (f'[keepwarm]\nurl = "{public.url}/ping?from=hearth"\ninterval = "500ms"\n'
                'jitter = "0s"\ntimeout = "1s"\n')
        srv = hearthd("hw_app:app", workers=1, toml=toml)
        poll(lambda: len(public.snapshot()) >= 3, 5, interval=0.05, what="three keep-warm pings")
        reqs = public.snapshot()
        for r in reqs:
            assert r["path"] == "/ping?from=hearth"
            assert r["headers"]["User-Agent"].startswith("hearth-keepwarm/")
            assert r["headers"]["Host"] == f"127.0.0.1:{public.port}"
        gaps = [b["t"] - a["t"] for a, b in zip(reqs, reqs[1:])]
        assert all(0.35 <= g <= 1.5 for g in gaps), gaps
        srv.wait_log(rf"ping {public.url}/ping\?from=hearth -> 200 in \d+ ms")
        metric_at_least(srv, "hearth_keepwarm_pings_total", 2, kind="public", result="ok")

        # A failing public URL is logged and counted; it does not affect serving.
        public.status = 503
        srv.wait_log(r"ping .* failed: status 503", timeout=5)
        metric_at_least(srv, "hearth_keepwarm_pings_total", 1, kind="public", result="failed")
        assert hhttp.get(srv.port, "/").status == 200
        # hearthd stops pinging when it stops.
        srv.stop()
        count = len(public.snapshot())
        time.sleep(0.8)
        assert len(public.snapshot()) == count


def test_unreachable_public_url_is_a_counted_failure(hearthd):
    from hw_helpers import free_port
    port = free_port()  # nothing listens there
    toml = f'[keepwarm]\nurl = "http://127.0.0.1:{port}/"\ninterval = "300ms"\njitter = "0s"\ntimeout = "1s"\n'
    srv = hearthd("hw_app:app", workers=1, toml=toml)
    srv.wait_log(r"ping http://127\.0\.0\.1:\d+/ failed: connect", timeout=5)
    metric_at_least(srv, "hearth_keepwarm_pings_total", 1, kind="public", result="failed")
    assert hhttp.get(srv.port, "/").status == 200


def test_internal_keepwarm_hits_idle_workers_only(hearthd, tmp_path):
    ev = tmp_path / "events.jsonl"
    toml = '[keepwarm]\ninternal_interval = "500ms"\n[[warmup.requests]]\npath = "/warm"\n'
    srv = hearthd("hw_app:app", "--env", f"HW_EVENTS={ev}", workers=2, ready_workers=2, toml=toml)

    def keepwarms():
        return [e for e in events(ev) if e["internal"] == "keepwarm"]

    # Idle: every ready worker gets the first warm-up request again.
    poll(lambda: len({e["pid"] for e in keepwarms()}) == 2, 5, interval=0.05, what="keep-warm through both workers")
    assert all(e["path"] == "/warm" for e in keepwarms())
    srv.wait_log(r"idle for \d+ s: warmed 2 worker\(s\) with GET /warm")
    metric_at_least(srv, "hearth_keepwarm_pings_total", 2, kind="internal", result="ok")

    # Busy: user requests every 100 ms keep the idle timer from ever firing.
    # (A user request resets the idle clock; a keep-warm round already in flight lands
    # in the events file within the pause.)
    assert hhttp.get(srv.port, "/").status == 200
    time.sleep(0.2)
    before = len(keepwarms())
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        assert hhttp.get(srv.port, "/").status == 200
        time.sleep(0.1)
    assert len(keepwarms()) == before, "keep-warm ran although user traffic kept the workers busy"
    # Keep-warm requests are not user traffic.
    assert metric(scrape(srv), "hearth_requests_total") == sum(
        1 for e in events(ev) if not e["internal"])
