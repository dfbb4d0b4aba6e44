"""Observability: /metrics checked by promtool and scraped by a real Prometheus
server, the Grafana dashboard's metric names against a real scrape, memory
figures (RSS/PSS/USS) against an app that allocates known amounts, the access
log (combined and JSON, SIGUSR1 reopen) and X-Request-ID."""
import json
import math
import pathlib
import re
import shutil
import signal
import subprocess
import time
import urllib.parse

import pytest

import hhttp
from conftest import ROOT, pid_exited, poll, wait_exited
from hw_helpers import (RecordingServer, fetch, free_port, metric, metric_at_least, parse_metrics, scrape,
                        status_json)

MIB = 1024 * 1024
DASHBOARD = ROOT / "packaging" / "grafana-dashboard.json"
PROMTOOL = shutil.which("promtool")
PROMETHEUS = shutil.which("prometheus")


@pytest.fixture(scope="module")
def busy(hearthd_module):
    """hw_app with every optional metric source on (health checks, warm-up, keep-warm
    pinging a loopback stand-in), after some 2xx, 4xx and 5xx traffic."""
    with RecordingServer() as public:
        toml = ('[health]\npath = "/health"\ninterval = "300ms"\n'
                '[[warmup.requests]]\npath = "/warm"\n'
                f'[keepwarm]\nurl = "{public.url}/"\ninterval = "300ms"\njitter = "0s"\n'
                'internal_interval = "300ms"\n')
        srv = hearthd_module("hw_app:app", "--env", "HW_X=1", workers=2, ready_workers=2, toml=toml)
        for path in ["/", "/", "/status?code=404", "/status?code=500", "/sleep?ms=30"] * 4:
            hhttp.get(srv.port, path)
        hhttp.fetch(srv.port, "POST", "/", body=b"x" * 100)
        yield srv


def _names(text):
    return {n for n, _, _ in parse_metrics(text)}


def test_metrics_pass_promtool_with_no_output(busy):
    if not PROMTOOL:
        pytest.skip("promtool is missing (apt-get install prometheus)")
    metric_at_least(busy, "hearth_keepwarm_pings_total", 1, kind="public", result="ok")
    text = scrape(busy)
    out = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and out.stdout == "" and out.stderr == "", (out.stdout, out.stderr)


def test_metrics_after_traffic(busy):
    text = scrape(busy)
    assert "# TYPE hearth_requests_total counter" in text
    assert "# TYPE hearth_request_duration_seconds histogram" in text
    assert metric(text, "hearth_requests_total", method="GET", status="2xx") >= 12
    assert metric(text, "hearth_requests_total", method="GET", status="4xx") >= 4
    assert metric(text, "hearth_requests_total", method="GET", status="5xx") >= 4
    assert metric(text, "hearth_requests_total", method="POST", status="2xx") >= 1
    assert metric(text, "hearth_request_bytes_total") >= 100
    # The histogram: cumulative buckets up to le="+Inf" == _count, and a _sum.
    samples = [(l, v) for n, l, v in parse_metrics(text)
               if n == "hearth_request_duration_seconds_bucket" and l["method"] == "GET" and l["status"] == "2xx"]
    les = [l["le"] for l, _ in samples]
    assert les[-1] == "+Inf" and les[:-1] == sorted(les[:-1], key=float)
    counts = [v for _, v in samples]
    assert counts == sorted(counts)
    count = metric(text, "hearth_request_duration_seconds_count", method="GET", status="2xx")
    assert counts[-1] == count >= 12
    # 4 requests slept 30 ms: they are above the 25 ms bucket.
    le_25ms = dict((l["le"], v) for l, v in samples)["0.025"]
    assert le_25ms <= count - 4
    assert metric(text, "hearth_request_duration_seconds_sum", method="GET", status="2xx") >= 4 * 0.03
    assert metric(text, "hearth_request_queue_seconds_count", method="GET") >= 20
    assert metric(text, "hearth_request_worker_seconds_count", method="GET", status="5xx") >= 4
    assert metric(text, "hearth_workers", state="ready") == 2
    assert metric(text, "hearth_warmups_total", result="ok") == 2
    assert metric(text, "hearth_generation") == 1
    assert metric(text, 'hearth_build_info') == 1
    assert 0 <= metric(text, "hearth_busy_ratio") <= 1
    assert metric(text, "process_resident_memory_bytes") > MIB


def test_dashboard_metric_names_exist_in_a_real_scrape(busy):
    dash = json.loads(DASHBOARD.read_text())
    assert 36 <= dash["schemaVersion"] <= 41
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    exprs = []

    def walk(panels):
        for p in panels:
            if p.get("type") != "row":
                assert p["datasource"]["uid"] == "${datasource}", p["title"]
            exprs.extend(t["expr"] for t in p.get("targets", []))
            walk(p.get("panels", []))

    walk(dash["panels"])
    exprs += [v["definition"] for v in variables.values() if v.get("definition")]
    assert len(exprs) >= 20
    referenced = set()
    for e in exprs:
        referenced |= set(re.findall(r"\b((?:hearth|process)_[a-z0-9_]+)\b", e))
    metric_at_least(busy, "hearth_health_checks_total", 1, result="ok")
    available = _names(scrape(busy))
    missing = sorted(referenced - available)
    assert not missing, f"the dashboard uses metrics /metrics does not have: {missing}"
    # Every panel group the dashboard promises.
    titles = " | ".join(p["title"] for p in dash["panels"])
    for want in ["Request rate by status", "Latency", "Queue", "Busy ratio", "Workers by state", "Restarts by reason",
                 "RSS / PSS / USS", "PSS vs RSS", "Shared ratio", "Health", "Keep-warm"]:
        assert want in titles, want


# --- a real Prometheus server -----------------------------------------------------------

def _prom_query(base, expr):
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    status, _, body = fetch(url, timeout=5)
    try:
        return status, json.loads(body)
    except ValueError:  # e.g. "Service Unavailable" while Prometheus starts
        return status, None


def test_real_prometheus_scrapes_and_queries(busy, tmp_path):
    if not PROMETHEUS:
        pytest.skip("prometheus is missing (apt-get install prometheus)")
    admin = urllib.parse.urlparse(busy.admin_url)
    port = free_port()
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                   "scrape_configs:\n  - job_name: hearth\n    scrape_interval: 1s\n"
                   f"    static_configs:\n      - targets: ['{admin.netloc}']\n")
    log = open(tmp_path / "prometheus.log", "wb")
    prom = subprocess.Popen([PROMETHEUS, f"--config.file={cfg}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        def ready():
            assert prom.poll() is None, (tmp_path / "prometheus.log").read_text()[-3000:]
            try:
                return fetch(base + "/-/ready", timeout=2)[0] == 200
            except OSError:
                return False
        poll(ready, 30, interval=0.1, what="prometheus /-/ready")

        # Traffic while Prometheus scrapes, so rate() has something to see.
        def up():
            assert prom.poll() is None, (tmp_path / "prometheus.log").read_text()[-3000:]
            hhttp.get(busy.port, "/sleep?ms=5")
            try:
                status, body = _prom_query(base, "hearth_requests_total")
            except OSError:
                return None
            return status == 200 and body and body["data"]["result"] and body
        body = poll(up, 30, interval=0.2, what="prometheus to scrape hearth_requests_total")
        total = sum(float(r["value"][1]) for r in body["data"]["result"])
        assert total > 0
        assert {r["metric"]["job"] for r in body["data"]["result"]} == {"hearth"}

        q = "histogram_quantile(0.9, sum by (le) (rate(hearth_request_duration_seconds_bucket[30s])))"

        def quantile():
            hhttp.get(busy.port, "/sleep?ms=5")
            status, body = _prom_query(base, q)
            assert status == 200 and body["status"] == "success", body
            res = body["data"]["result"]
            if not res:
                return None
            v = float(res[0]["value"][1])
            return v if math.isfinite(v) else None  # NaN until two scrapes saw traffic
        p90 = poll(quantile, 20, interval=0.3, what="a finite p90 from prometheus")
        # The requests take ms to tens of ms; buckets run 1 ms .. 60 s.
        assert 0 < p90 <= 1.0, p90

        # Every dashboard expression is valid PromQL for this Prometheus.
        dash = json.loads(DASHBOARD.read_text())
        exprs = []

        def walk(panels):
            for p in panels:
                exprs.extend(t["expr"] for t in p.get("targets", []))
                walk(p.get("panels", []))
        walk(dash["panels"])
        for e in exprs:
            e = (e.replace("$__rate_interval", "30s").replace("$__range", "1m")
                  .replace("$job", ".*").replace("$instance", ".*"))
            status, body = _prom_query(base, e)
            assert status == 200 and body["status"] == "success", (e, body)
    finally:
        prom.terminate()
        try:
            prom.wait(timeout=10)
        except subprocess.TimeoutExpired:
            prom.kill()
            prom.wait(timeout=5)
        log.close()


# --- memory truth --------------------------------------------------------------------

def test_memory_figures_match_known_allocations(hearthd, tmp_path):
    pre_mib, post_mib = 64, 32
    sock = tmp_path / "ctl.sock"
    toml = '[hooks]\npost_fork = "hw_memory:post_fork"\n'
    srv = hearthd("hw_memory:app", "--preload", "--env", f"HW_PRE_MIB={pre_mib}", "--env", f"HW_POST_MIB={post_mib}",
                  "--control-socket", sock, workers=2, ready_workers=2, toml=toml)
    for _ in range(4):
        body = hhttp.get(srv.port, "/").json()
        assert body["pre"] == pre_mib * MIB and body["post"] == post_mib * MIB

    def measured():
        st = status_json(sock)
        ws = [w for w in st["workers"] if w["state"] == "ready" and "uss_bytes" in w]
        return st if len(ws) == 2 and "zygote_memory" in st else None
    st = poll(measured, 15, interval=0.2, what="memory figures for the zygote and both workers")
    z = st["zygote_memory"]
    workers = [w for w in st["workers"] if w["state"] == "ready"]
    # The zygote holds the pre-fork allocation (plus the interpreter, ~10 MiB).
    assert pre_mib * MIB <= z["rss_bytes"] < (pre_mib + 40) * MIB, z
    for w in workers:
        # Each worker maps the zygote's pages (RSS), but its private memory (USS) is the
        # post-fork allocation plus what the interpreter dirtied since the fork (measured:
        # ~4 MiB for a bare worker), never the shared 64 MiB.
        assert w["rss_bytes"] >= (pre_mib + post_mib) * MIB, w
        assert post_mib * MIB <= w["uss_bytes"] < (post_mib + 30) * MIB, w
        assert w["pss_bytes"] < w["rss_bytes"]
        # The shared 64 MiB is split three ways in PSS (zygote + 2 workers).
        assert w["pss_bytes"] < (post_mib + pre_mib / 2 + 20) * MIB, w
    mem = st["memory"]
    assert mem["total_pss_bytes"] < mem["total_rss_bytes"]
    # Sharing saves at least one copy of the pre-fork allocation per worker but one.
    assert mem["total_rss_bytes"] - mem["total_pss_bytes"] >= 2 * pre_mib * MIB * 0.9
    assert mem["workers_uss_bytes"] == sum(w["uss_bytes"] for w in workers)
    # The same figures on /metrics.
    text = scrape(srv)
    # The worker label is a slot index (0, 1 for two workers), not the ever-growing worker id.
    slots = {l["worker"] for n, l, _ in parse_metrics(text) if n == "hearth_worker_memory_bytes"}
    assert slots == {"0", "1"}, slots
    for slot in slots:
        assert metric(text, "hearth_worker_memory_bytes", worker=slot, kind="uss") >= post_mib * MIB
    assert metric(text, "hearth_app_memory_bytes", kind="pss") < metric(text, "hearth_app_memory_bytes", kind="rss")
    assert 0.3 < metric(text, "hearth_app_memory_shared_ratio") < 1


def test_recycled_workers_reuse_the_worker_label_slots(hearthd):
    """--max-requests 3 replaces the worker every third request. Each replacement takes a
    freed slot of hearth_worker_memory_bytes' worker label instead of adding a series per
    worker id: the label's values stay within the most workers alive at once (the old one
    drains while its successor boots: two, three at the very most)."""
    srv = hearthd("lc_version:app", "--max-requests", "3", workers=1, ready_workers=1,
                  toml='memory_interval = "100ms"\n')
    pids, labels = set(), set()
    last = None
    for _ in range(6):
        def next_worker():  # the old worker serves until its replacement is ready
            r = hhttp.get(srv.port, "/")
            assert r.status == 200, r.body
            pid = int(re.search(rb"pid=(\d+)", r.body).group(1))
            pids.add(pid)
            return pid if pid != last else None
        last = poll(next_worker, 10, interval=0.02, what="the next worker to serve")

        def sampled():
            text = scrape(srv)
            seen = {l["worker"] for n, l, _ in parse_metrics(text) if n == "hearth_worker_memory_bytes"}
            labels.update(seen)
            return seen or None
        poll(sampled, 10, interval=0.05, what="a worker memory sample")
    assert len(pids) >= 5, pids  # several workers served, each with a new id
    assert labels and labels <= {"0", "1", "2"}, labels


# --- access log and request ids ----------------------------------------------------------

RID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")  # what hearthd accepts from a client


def test_combined_access_log_on_stdout_carries_the_request_id(hearthd):
    srv = hearthd("hw_app:app", workers=1)
    r = hhttp.get(srv.port, "/rid?x=1", headers=[("User-Agent", "hw-test/1.0"), ("Referer", "http://ref/")])
    assert r.status == 200
    rid = r.header("X-Request-ID")
    assert rid and RID_RE.match(rid), rid
    assert r.json() == {"rid": rid, "hearth": rid}  # the generated id reaches the app too
    line = poll(lambda: [l for l in srv.stdout().splitlines() if f"rid={rid} " in l], 5,
                what="the access log line")[0]
    assert re.match(r'^127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET /rid\?x=1 HTTP/1\.1" 200 '
                    rf'{len(r.body)} "http://ref/" "hw-test/1\.0" rid={re.escape(rid)} dur=\d+\.\d{{6}}$', line), line
    # Two requests, two different generated ids.
    r2 = hhttp.get(srv.port, "/")
    assert r2.header("X-Request-ID") not in (None, rid)


def test_client_request_id_is_echoed_and_reaches_the_app(hearthd):
    srv = hearthd("hw_app:app", workers=1)
    r = hhttp.get(srv.port, "/rid", headers=[("X-Request-ID", "client-abc.123_X")])
    assert r.header("X-Request-ID") == "client-abc.123_X"
    assert r.json() == {"rid": "client-abc.123_X", "hearth": "client-abc.123_X"}
    poll(lambda: "rid=client-abc.123_X " in srv.stdout(), 5, what="the client's id in the access log")
    # An insane one (spaces, quotes, too long) is replaced by a generated id.
    for bad in ['has space "q"', "x" * 1000]:
        r = hhttp.get(srv.port, "/rid", headers=[("X-Request-ID", bad)])
        rid = r.header("X-Request-ID")
        assert rid and rid != bad and RID_RE.match(rid), rid
        assert r.json()["rid"] == rid


def test_json_access_log_to_a_file_reopened_on_sigusr1(hearthd, tmp_path):
    path = tmp_path / "access.log"
    srv = hearthd("hw_app:app", "--access-logfile", path, "--access-log-format", "json", workers=1)
    r = hhttp.get(srv.port, '/status?code=404&q="quoted"', headers=[("User-Agent", 'ua "with" quotes\\')])
    assert r.status == 404
    rid = r.header("X-Request-ID")

    def entries(p):
        return [json.loads(l) for l in p.read_text().splitlines()] if p.exists() else []
    (e,) = poll(lambda: entries(path), 5, what="a JSON access log line")
    assert e["request_id"] == rid and e["status"] == 404 and e["method"] == "GET"
    assert e["target"] == '/status?code=404&q="quoted"' and e["user_agent"] == 'ua "with" quotes\\'
    assert e["protocol"] == "HTTP/1.1" and e["remote_addr"] == "127.0.0.1"
    assert e["bytes"] == len(r.body) and e["duration_s"] >= 0
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", e["time"])
    assert srv.stdout() == ""  # the access log went to the file only

    # logrotate: rename, SIGUSR1, and new lines go to a new file at the old path.
    rotated = tmp_path / "access.log.1"
    path.rename(rotated)
    hhttp.get(srv.port, "/?before-reopen")
    poll(lambda: len(entries(rotated)) == 2, 5, what="the line before the reopen in the renamed file")
    srv.send_signal(signal.SIGUSR1)
    srv.wait_log(r"SIGUSR1: reopening the access log")
    hhttp.get(srv.port, "/?after-reopen")
    (after,) = poll(lambda: entries(path), 5, what="a line in the reopened file")
    assert after["target"] == "/?after-reopen"
    assert [x["target"] for x in entries(rotated)][-1] == "/?before-reopen"
