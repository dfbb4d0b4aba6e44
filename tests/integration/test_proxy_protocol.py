"""PROXY protocol (proxy_protocol / --proxy-protocol, proxy_allow_ips): v1 from curl
--haproxy-protocol and by hand, v2 by hand (IPv4, IPv6, TLVs, LOCAL, byte by byte),
before TLS, and the refusals: no header, a bad header, a peer not allowed, a late one."""
import json
import re
import shutil
import socket
import ssl
import struct
import subprocess
import time
import urllib.request

import pytest

import hhttp
from conftest import http_status, poll

SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v2(ver_cmd, fam, body):
    return SIG + bytes([ver_cmd, fam]) + struct.pack(">H", len(body)) + body


def v2_inet4(src, sport, dst="10.0.0.1", dport=443, tlvs=b""):
    body = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack(">HH", sport, dport)
    return v2(0x21, 0x11, body + tlvs)


def v2_inet6(src, sport, dst="::1", dport=443):
    body = (socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst)
            + struct.pack(">HH", sport, dport))
    return v2(0x21, 0x21, body)


def tlv(t, value):
    return bytes([t]) + struct.pack(">H", len(value)) + value


def environ_over(port, header, chunk=None):
    """Sends `header` then GET /environ on one connection; returns the environ dict."""
    with hhttp.Conn(port) as c:
        if chunk:
            for i in range(0, len(header), chunk):
                c.send(header[i:i + chunk])
                time.sleep(0.01)
        else:
            c.send(header)
        c.send(hhttp.request("GET", "/environ"))
        r = c.read_response()
        assert r.status == 200, r
        return r.json()


def refused(port, data, timeout=5.0):
    """True when the server closes the connection without a response after `data`."""
    with hhttp.Conn(port, timeout=timeout) as c:
        if data:
            c.send(data)
        return c.read_until_close(timeout=timeout) == b""


def metric(srv, name):
    with urllib.request.urlopen(srv.admin_url + "/metrics", timeout=5) as r:
        text = r.read().decode()
    m = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


@pytest.fixture(scope="module")
def srv(hearthd_module):
    return hearthd_module("basic:app", "--proxy-protocol", workers=1,
                          toml='[http]\nheader_timeout = "2s"\n[log]\naccess_log_format = "json"\n')


def test_v1_by_hand_sets_remote_addr_and_access_log(srv):
    env = environ_over(srv.port, b"PROXY TCP4 203.0.113.7 10.0.0.1 56324 443\r\n")
    assert env["REMOTE_ADDR"] == "203.0.113.7"
    assert env["REMOTE_PORT"] == "56324"
    # The access log's client is the same address.
    def logged():
        for line in srv.stdout().splitlines():
            if line.startswith("{") and '"203.0.113.7"' in line:
                return json.loads(line)
    entry = poll(logged, 5, what="the access-log line for 203.0.113.7")
    assert entry["remote_addr"] == "203.0.113.7"


def test_v1_tcp6_and_unknown(srv):
    env = environ_over(srv.port, b"PROXY TCP6 2001:db8::7 2001:db8::1 4000 80\r\n")
    assert env["REMOTE_ADDR"] == "2001:db8::7"
    env = environ_over(srv.port, b"PROXY UNKNOWN\r\n")
    assert env["REMOTE_ADDR"] == "127.0.0.1"  # the balancer's own connection: the TCP peer


def test_curl_haproxy_protocol(srv):
    curl = shutil.which("curl")
    if not curl:
        pytest.skip("curl is not installed")
    url = f"http://127.0.0.1:{srv.port}/environ"
    r = subprocess.run([curl, "-sS", "--max-time", "10", "--haproxy-protocol", url],
                       capture_output=True, timeout=20)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["REMOTE_ADDR"] == "127.0.0.1"
    # Without the header the connection is closed: curl gets no response.
    r = subprocess.run([curl, "-sS", "--max-time", "10", url], capture_output=True, timeout=20)
    assert r.returncode != 0
    assert r.stdout == b""


def test_v2_inet4_with_tlvs(srv):
    tlvs = tlv(0x02, b"example.com") + tlv(0xEA, b"\x01vpce-0123") + tlv(0x04, b"")
    env = environ_over(srv.port, v2_inet4("198.51.100.23", 40000, tlvs=tlvs))
    assert env["REMOTE_ADDR"] == "198.51.100.23"
    assert env["REMOTE_PORT"] == "40000"


def test_v2_inet6_and_mapped(srv):
    assert environ_over(srv.port, v2_inet6("2001:db8::42", 1234))["REMOTE_ADDR"] == "2001:db8::42"
    assert environ_over(srv.port, v2_inet6("::ffff:192.0.2.9", 1234))["REMOTE_ADDR"] == "192.0.2.9"


def test_v2_local_keeps_the_peer(srv):
    assert environ_over(srv.port, v2(0x20, 0x00, b""))["REMOTE_ADDR"] == "127.0.0.1"


def test_v2_byte_by_byte_then_pipelined_requests(srv):
    header = v2_inet4("192.0.2.77", 5555, tlvs=tlv(0x02, b"h"))
    with hhttp.Conn(srv.port) as c:
        for b in header:
            c.send(bytes([b]))
        c.send(hhttp.request("GET", "/environ") + hhttp.request("GET", "/environ"))
        for _ in range(2):
            r = c.read_response()
            assert r.status == 200
            assert r.json()["REMOTE_ADDR"] == "192.0.2.77"


def test_missing_bad_and_late_headers_are_closed(srv):
    before = metric(srv, "hearth_proxy_protocol_refused_total")
    assert refused(srv.port, hhttp.request("GET", "/"))                                # no header
    assert refused(srv.port, b"PROXY TCP4 1.2.3.4 5.6.7.8 1 70000\r\nGET / HTTP/1.1\r\n\r\n")  # bad port
    assert refused(srv.port, v2_inet4("1.2.3.4", 1, tlvs=b"\x02\x00\x09ab"))           # TLV past the end
    assert refused(srv.port, v2(0x21, 0x11, b"\x00" * 4))                               # short address block
    assert refused(srv.port, b"PROXY TCP4 1.2.3.4", timeout=8)                          # header_timeout (2s)
    t0 = time.monotonic()
    assert refused(srv.port, b"", timeout=8)                                            # says nothing
    assert time.monotonic() - t0 < 6
    assert poll(lambda: metric(srv, "hearth_proxy_protocol_refused_total") >= before + 6, 5,
                what="hearth_proxy_protocol_refused_total + 6")
    log = srv.log()
    assert "PROXY protocol: connection refused: v1: bad destination port '70000'" in log
    assert "runs past the header" in log
    # The server still serves well-formed connections.
    assert environ_over(srv.port, b"PROXY TCP4 203.0.113.8 10.0.0.1 1 2\r\n")["REMOTE_ADDR"] == "203.0.113.8"


def test_peer_outside_proxy_allow_ips_is_refused(hearthd):
    srv = hearthd("basic:app", workers=1, toml='proxy_protocol = true\nproxy_allow_ips = ["10.0.0.0/8"]\n')
    assert refused(srv.port, b"PROXY TCP4 203.0.113.7 10.0.0.1 56324 443\r\n" + hhttp.request("GET", "/"))
    assert "peer 127.0.0.1 is not in proxy_allow_ips" in srv.log()
    assert metric(srv, "hearth_proxy_protocol_refused_total") == 1


def test_cidr_allow_list_and_cli_flag(hearthd):
    srv = hearthd("basic:app", "--proxy-protocol", "--proxy-allow-from", "127.0.0.0/8, 10.1.0.0/16",
                  workers=1)
    assert environ_over(srv.port, b"PROXY TCP4 203.0.113.9 10.0.0.1 1 2\r\n")["REMOTE_ADDR"] == "203.0.113.9"


def test_without_proxy_protocol_a_header_is_a_bad_request(hearthd):
    srv = hearthd("basic:app", workers=1)
    with hhttp.Conn(srv.port) as c:
        c.send(b"PROXY TCP4 203.0.113.7 10.0.0.1 56324 443\r\n" + hhttp.request("GET", "/"))
        assert c.read_response().status == 400


# --- before TLS ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    openssl = shutil.which("openssl")
    if not openssl:
        pytest.skip("openssl is not installed")
    d = tmp_path_factory.mktemp("pki")
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", "key.pem", "-out", "cert.pem", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   cwd=d, check=True, capture_output=True, timeout=30)
    return d


def test_header_before_tls(hearthd, pki):
    srv = hearthd("basic:app", "--proxy-protocol", "--certfile", pki / "cert.pem", "--keyfile", pki / "key.pem",
                  workers=1, wait=False)
    m = poll(lambda: re.search(r"\[http\] listening on https://127\.0\.0\.1:(\d+)", srv.log()), 20,
             what="the HTTPS listener")
    port = int(m.group(1))
    poll(lambda: srv.admin_url and http_status(srv.admin_url + "/readyz", timeout=1.0) == 200, 20,
         what="/readyz 200")
    ctx = ssl.create_default_context(cafile=str(pki / "cert.pem"))
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    raw.sendall(v2_inet4("192.0.2.200", 3333, tlvs=tlv(0x20, b"\x01\x00\x00\x00\x00")))
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        s.sendall(b"GET /environ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        data = hhttp.recv_until_close(s)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    env = json.loads(body)
    assert env["REMOTE_ADDR"] == "192.0.2.200"
    assert env["wsgi.url_scheme"] == "https"
    # curl over HTTPS with HTTP/2 (ALPN h2) and HTTP/1.1.
    curl = shutil.which("curl")
    if curl:
        for proto in ("--http2", "--http1.1"):
            r = subprocess.run([curl, "-sS", "--max-time", "10", proto, "--haproxy-protocol", "--cacert",
                                str(pki / "cert.pem"), "-w", "\n%{http_version}",
                                f"https://localhost:{port}/environ"], capture_output=True, timeout=20)
            assert r.returncode == 0, r.stderr
            out, _, version = r.stdout.decode().rpartition("\n")
            assert json.loads(out)["REMOTE_ADDR"] == "127.0.0.1"
            assert version == ("2" if proto == "--http2" else "1.1")
    # A ClientHello without the header is refused, as on plain listeners.
    assert refused(port, b"\x16\x03\x01\x00\x05hello")
