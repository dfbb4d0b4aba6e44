"""[[rate_limit]] (nginx's limit_req) and http.max_connections_per_ip (limit_conn), with
bursts of real requests: 429 + Retry-After beyond the burst, never reaching the app,
counted per rule in /metrics; the PROXY protocol address and trusted X-Forwarded-For are
the key; connections beyond the per-address cap are closed."""
import json
import re
import socket
import subprocess
import shutil
import urllib.request

import pytest

import hhttp
from conftest import poll

RULES = '''
[[rate_limit]]
prefix = "/p/"
rate = "1/m"
burst = 2

[[rate_limit]]
prefix = "/p/login"
rate = "1/m"
methods = ["POST"]
'''


def metrics(srv):
    with urllib.request.urlopen(srv.admin_url + "/metrics", timeout=5) as r:
        return r.read().decode()


def limited(srv, rule):
    m = re.search(r'^hearth_rate_limited_total\{rule="%s"\} (\S+)$' % re.escape(rule), metrics(srv), re.M)
    return float(m.group(1)) if m else None


def recorded(path):
    try:
        return [json.loads(line) for line in path.read_text().splitlines()]
    except FileNotFoundError:
        return []


@pytest.fixture
def rec(hearthd, tmp_path):
    record = tmp_path / "record.jsonl"
    srv = hearthd("recorder:app", "-e", f"HEARTH_TEST_RECORD={record}", workers=1,
                  toml='forwarded_allow_ips = "127.0.0.1"\n' + RULES)
    return srv, record


def test_burst_then_429_with_retry_after_never_reaching_the_app(rec):
    srv, record = rec
    statuses = [hhttp.get(srv.port, f"/p/{i}") for i in range(6)]
    assert [r.status for r in statuses] == [200, 200, 200, 429, 429, 429]
    r = statuses[3]
    assert r.body == b"429 Too Many Requests\n"
    assert r.header("Content-Type").startswith("text/plain")
    retry = int(r.header("Retry-After"))
    assert 1 <= retry <= 60
    assert [e["path"] for e in recorded(record)] == ["/p/0", "/p/1", "/p/2"]
    assert limited(srv, "/p/") == 3
    # Paths outside every prefix are not limited.
    assert all(hhttp.get(srv.port, "/other").status == 200 for _ in range(5))
    # The access log shows the 429s.
    poll(lambda: srv.stdout().count('" 429 ') >= 3, 5, what="three 429 lines in the access log")


def test_percent_encoding_does_not_evade_a_rule(rec):
    srv, record = rec
    codes = [hhttp.get(srv.port, p).status for p in ("/p/a", "/%70/b", "/p%2Fc", "/%70/d")]
    assert codes == [200, 200, 200, 429]


def test_methods_and_longest_prefix(rec):
    srv, record = rec
    login = [hhttp.fetch(srv.port, "POST", "/p/login", body=b"x").status for _ in range(2)]
    assert login == [200, 429]
    assert limited(srv, "/p/login POST") == 1
    # GET /p/login is not a POST: the "/p/" rule applies, with its own bucket.
    assert [hhttp.get(srv.port, "/p/login").status for _ in range(4)] == [200, 200, 200, 429]


def test_keys_are_per_client_from_trusted_x_forwarded_for(rec):
    srv, record = rec
    for client in ("198.51.100.1", "198.51.100.2"):
        hdr = [("X-Forwarded-For", f"10.9.9.9, {client}")]
        got = [hhttp.get(srv.port, "/p/x", headers=hdr).status for _ in range(4)]
        assert got == [200, 200, 200, 429], client
    # The peer itself (127.0.0.1, no header) still has its own full bucket.
    assert hhttp.get(srv.port, "/p/x").status == 200


def test_http2_is_limited_too(rec):
    srv, record = rec
    curl = shutil.which("curl")
    if not curl:
        pytest.skip("curl is not installed")
    url = f"http://127.0.0.1:{srv.port}/p/h2"
    outs = []
    for _ in range(4):
        r = subprocess.run([curl, "-s", "--http2-prior-knowledge", "-D", "-", "-o", "/dev/null",
                            "-w", "%{http_code} %{http_version}\n", url], capture_output=True, timeout=30)
        outs.append(r.stdout.decode())
    codes = [re.search(r"^(\d{3}) 2$", o, re.M).group(1) for o in outs]
    assert codes == ["200", "200", "200", "429"], outs
    assert re.search(r"^retry-after: \d+", outs[3], re.M | re.I), outs[3]


def test_key_is_the_proxy_protocol_address(hearthd):
    srv = hearthd("basic:app", "--proxy-protocol", workers=1,
                  toml='[[rate_limit]]\nprefix = "/"\nrate = "1/m"\n')
    def status_for(client):
        with hhttp.Conn(srv.port) as c:
            c.send(f"PROXY TCP4 {client} 10.0.0.1 1000 80\r\n".encode() + hhttp.request("GET", "/"))
            return c.read_response().status
    assert [status_for("192.0.2.1"), status_for("192.0.2.1")] == [200, 429]
    assert status_for("192.0.2.2") == 200


def test_bad_rules_are_config_errors(hearthd, tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('app = "basic:app"\n[[rate_limit]]\nprefix = "/api/"\nrate = "ten per second"\nburts = 3\n')
    from conftest import HEARTHD
    r = subprocess.run([str(HEARTHD), "-c", str(cfg), "--check-config"], capture_output=True, timeout=30)
    err = r.stderr.decode()
    assert r.returncode != 0
    assert f"{cfg}:4:8: rate_limit[0].rate: expected a rate such as" in err, err
    assert f"{cfg}:5:1: unknown key 'rate_limit[0].burts' (did you mean 'burst'?)" in err, err


# --- max_connections_per_ip -----------------------------------------------------------

def test_max_connections_per_ip(hearthd):
    srv = hearthd("basic:app", workers=1, toml="[http]\nmax_connections_per_ip = 2\n")
    a, b = hhttp.Conn(srv.port), hhttp.Conn(srv.port)
    try:
        for c in (a, b):
            c.send(hhttp.request("GET", "/"))
            assert c.read_response().status == 200
        # A third connection from 127.0.0.1 is closed at once, without a response.
        with hhttp.Conn(srv.port, timeout=5) as c:
            try:
                c.send(hhttp.request("GET", "/"))
            except OSError:
                pass
            assert c.read_until_close(timeout=5) == b""
        m = re.search(r'^hearth_connections_refused_total\{reason="per_ip"\} (\S+)$', metrics(srv), re.M)
        assert m and float(m.group(1)) == 1
    finally:
        a.close()
    # Once one closes, a new connection is served again.
    def served():
        try:
            return hhttp.get(srv.port, "/", timeout=3).status == 200
        except Exception:
            return False
    poll(served, 5, what="a connection after one was closed")
    b.close()


def test_max_connections_per_ip_counts_the_proxy_protocol_client(hearthd):
    srv = hearthd("basic:app", "--proxy-protocol", workers=1, toml="[http]\nmax_connections_per_ip = 1\n")
    first = hhttp.Conn(srv.port)
    try:
        first.send(b"PROXY TCP4 192.0.2.1 10.0.0.1 1 80\r\n" + hhttp.request("GET", "/"))
        assert first.read_response().status == 200
        with hhttp.Conn(srv.port, timeout=5) as c:  # same client through the same balancer
            c.send(b"PROXY TCP4 192.0.2.1 10.0.0.1 2 80\r\n" + hhttp.request("GET", "/"))
            assert c.read_until_close(timeout=5) == b""
        with hhttp.Conn(srv.port) as c:  # another client through the same balancer
            c.send(b"PROXY TCP4 192.0.2.2 10.0.0.1 3 80\r\n" + hhttp.request("GET", "/"))
            assert c.read_response().status == 200
    finally:
        first.close()
