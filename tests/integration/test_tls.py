"""HTTPS on the application listeners (certfile/keyfile, [tls]), checked with real clients:
curl (HTTP/1.1 and HTTP/2 chosen by ALPN), nghttp, h2load, and Python's ssl module for
protocol versions, ALPN and certificate details. The certificates are made by these tests
with the openssl CLI: a private CA and server certificates it signs.

Also: a non-TLS or silent client on the HTTPS port does not hurt anyone else and is closed
after header_timeout; `hearthctl reload` swaps the certificate for new connections while an
open connection keeps working (and a broken new certificate keeps the old one); the plain
redirect listener (308) and HSTS; bad certificate configs exit 2 with a clear message."""
import hashlib
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
import warnings

import pytest

from conftest import HEARTHD, ROOT, poll

HTTPS_RE = re.compile(r"\[http\] listening on (https://\S+)")
REDIRECT_RE = re.compile(r"\[redirect\] listening on (http://\S+)")
HEARTHCTL = HEARTHD.parent / "hearthctl"


def _tool(name):
    path = shutil.which(name)
    if not path:
        pytest.skip(f"{name} is not installed (packaging/install-deps.sh test)")
    return path


def run(cmd, timeout=30, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, timeout=timeout, **kw)


def openssl(*args, cwd):
    r = run([_tool("openssl"), *args], cwd=cwd)
    assert r.returncode == 0, r.stderr.decode()


def make_server_cert(d, name, cn, serial):
    """name.key + name.pem (leaf then CA: a full chain), signed by the CA in d."""
    ext = d / f"{name}.ext"
    ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                   "extendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}", cwd=d)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-set_serial", str(serial), "-days", "2", "-extfile", ext.name, "-out", f"{name}.leaf", cwd=d)
    (d / f"{name}.pem").write_bytes((d / f"{name}.leaf").read_bytes() + (d / "ca.pem").read_bytes())
    return d / f"{name}.pem", d / f"{name}.key"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Hearth Test CA", cwd=d)
    certs = {
        "a": make_server_cert(d, "a", "hearth-a.test", 4097),
        "b": make_server_cert(d, "b", "hearth-b.test", 8194),
    }
    return {"dir": d, "ca": d / "ca.pem", **certs}


def start_tls(hearthd, tmp_path, pki, *extra, cert="a", toml=None, workers=1, ctl=False):
    """hearthd serving apps/basic.py over HTTPS on 127.0.0.1:0; returns (server, https_url).
    The cert/key are copied into tmp_path (the reload test rewrites them)."""
    cert_src, key_src = pki[cert]
    certfile, keyfile = tmp_path / "server.pem", tmp_path / "server.key"
    shutil.copy(cert_src, certfile)
    shutil.copy(key_src, keyfile)
    args = ["--certfile", certfile, "--keyfile", keyfile, *extra]
    if ctl:
        args += ["--control-socket", tmp_path / "ctl.sock"]
    srv = hearthd("basic:app", *args, workers=workers, toml=toml, wait=False)
    url = wait_https_ready(srv)
    return srv, url


def wait_https_ready(srv, timeout=20.0):
    def ready():
        srv._dead_check()
        m = HTTPS_RE.search(srv.log())
        if not m or not srv.admin_url:
            return None
        from conftest import http_status
        if http_status(srv.admin_url + "/readyz", timeout=1.0) != 200:
            return None
        return m.group(1)
    try:
        return poll(ready, timeout, interval=0.05, what="hearthd serving HTTPS")
    except AssertionError as e:
        raise AssertionError(f"{e}\n--- hearthd stderr ---\n{srv.log_tail()}") from None


def port_of(url):
    return int(url.rsplit(":", 1)[1])


def client_context(pki, version=None, alpn=None):
    ctx = ssl.create_default_context(cafile=str(pki["ca"]))
    if version is not None:
        ctx.minimum_version = version
        ctx.maximum_version = version
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


def tls_connect(port, ctx, timeout=5.0, ragged_eof_ok=True):
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return ctx.wrap_socket(raw, server_hostname="localhost", suppress_ragged_eofs=ragged_eof_ok)


def read_response(sock):
    """One HTTP/1.1 response (Content-Length framed) from a socket: (status, headers, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed mid-head: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    while len(body) < n:
        chunk = sock.recv(65536)
        assert chunk, "connection closed mid-body"
        body += chunk
    return status, headers, body[:n]


def get(sock, path, host="localhost", extra=""):
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode())
    return read_response(sock)


def curl(pki, *args, timeout=20):
    return run([_tool("curl"), "-sS", "--cacert", pki["ca"], "--max-time", "15", *args], timeout=timeout)


# --- real clients ------------------------------------------------------------------------

def test_curl_http11_and_http2_by_alpn(hearthd, tmp_path, pki):
    srv, url = start_tls(hearthd, tmp_path, pki)
    port = port_of(url)
    base = f"https://localhost:{port}"
    r = curl(pki, "--http1.1", "-w", "\n%{http_version}", base + "/")
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode() == "Hello from basic\n\n1.1"
    r = curl(pki, "--http2", "-w", "\n%{http_version}", base + "/")
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode() == "Hello from basic\n\n2"
    # The app sees an https request, over both protocols.
    for proto in ("--http1.1", "--http2"):
        env = json.loads(curl(pki, proto, base + "/environ").stdout)
        assert env["wsgi.url_scheme"] == "https", env
    # Bodies both ways, large enough for many TLS records and flow-control windows.
    payload = os.urandom(3 * 1024 * 1024 + 17)
    (tmp_path / "payload").write_bytes(payload)
    for proto in ("--http1.1", "--http2"):
        r = curl(pki, proto, "--data-binary", f"@{tmp_path / 'payload'}", base + "/echo-info")
        assert r.returncode == 0, r.stderr
        info = json.loads(r.stdout)
        assert info["length"] == len(payload)
        assert info["sha256"] == hashlib.sha256(payload).hexdigest()
        r = curl(pki, proto, base + "/big?size=5000000")
        assert r.returncode == 0, r.stderr
        assert r.stdout == b"b" * 5000000
    # Plain HTTP to the HTTPS port is not served: a 400 that says to use https://.
    r = run([_tool("curl"), "-sS", "--max-time", "5", "-w", "\n%{http_code}", f"http://127.0.0.1:{port}/"])
    assert r.stdout.decode().endswith("use an https:// URL\n\n400"), r.stdout


def test_nghttp_over_tls(hearthd, tmp_path, pki):
    nghttp = _tool("nghttp")
    srv, url = start_tls(hearthd, tmp_path, pki)
    r = run([nghttp, "-nv", url + "/p/one", url + "/p/two"])
    out = r.stdout.decode()
    assert r.returncode == 0, out + r.stderr.decode()
    assert "The negotiated protocol: h2" in out
    assert out.count(":status: 200") == 2


def test_h2load_over_tls_h2_and_http11(hearthd, tmp_path, pki):
    h2load = _tool("h2load")
    srv, url = start_tls(hearthd, tmp_path, pki, workers=2)
    r = run([h2load, "-n", "400", "-c", "8", "-m", "4", url + "/"], timeout=60)
    out = r.stdout.decode()
    assert "Application protocol: h2" in out, out
    assert "400 succeeded, 0 failed, 0 errored" in out, out
    r = run([h2load, "--h1", "-n", "200", "-c", "4", url + "/"], timeout=60)
    out = r.stdout.decode()
    assert "Application protocol: http/1.1" in out, out
    assert "200 succeeded, 0 failed, 0 errored" in out, out


# --- protocol versions, ciphers, ALPN --------------------------------------------------------

def test_tls_versions_and_ciphers(hearthd, tmp_path, pki):
    srv, url = start_tls(hearthd, tmp_path, pki)
    port = port_of(url)
    # TLS 1.1 is refused (the client is allowed to offer it, even with weak ciphers).
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.load_verify_locations(str(pki["ca"]))
    try:
        old.set_ciphers("ALL:@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # that is the point
            old.minimum_version = ssl.TLSVersion.TLSv1_1
            old.maximum_version = ssl.TLSVersion.TLSv1_1
    except (ValueError, ssl.SSLError) as e:
        pytest.skip(f"this Python/OpenSSL cannot even offer TLS 1.1: {e}")
    with pytest.raises(ssl.SSLError):
        tls_connect(port, old).close()
    for version, name in ((ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.TLSv1_3, "TLSv1.3")):
        with tls_connect(port, client_context(pki, version)) as s:
            assert s.version() == name
            cipher = s.cipher()[0]
            assert "GCM" in cipher or "CHACHA20" in cipher, cipher  # AEAD only
            status, _, body = get(s, "/")
            assert (status, body) == (200, b"Hello from basic\n")
    # A TLS 1.2 client that only offers CBC ciphers finds nothing in common.
    cbc = client_context(pki, ssl.TLSVersion.TLSv1_2)
    cbc.set_ciphers("ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:AES128-SHA")
    with pytest.raises(ssl.SSLError):
        tls_connect(port, cbc).close()
    assert srv.proc.poll() is None


def test_alpn_selection(hearthd, tmp_path, pki):
    srv, url = start_tls(hearthd, tmp_path, pki)
    port = port_of(url)
    with tls_connect(port, client_context(pki, alpn=["h2", "http/1.1"])) as s:
        assert s.selected_alpn_protocol() == "h2"
    with tls_connect(port, client_context(pki, alpn=["http/1.1"])) as s:
        assert s.selected_alpn_protocol() == "http/1.1"
        assert get(s, "/")[0] == 200
    with tls_connect(port, client_context(pki)) as s:  # no ALPN at all: HTTP/1.1
        assert s.selected_alpn_protocol() is None
        assert get(s, "/")[0] == 200


def test_alpn_without_http2(hearthd, tmp_path, pki):
    srv, url = start_tls(hearthd, tmp_path, pki, toml="[http]\nhttp2 = false\n")
    with tls_connect(port_of(url), client_context(pki, alpn=["h2", "http/1.1"])) as s:
        assert s.selected_alpn_protocol() == "http/1.1"
        assert get(s, "/")[0] == 200


def test_min_version_13(hearthd, tmp_path, pki):
    srv, url = start_tls(hearthd, tmp_path, pki, toml='[tls]\nmin_version = "1.3"\n')
    port = port_of(url)
    with pytest.raises(ssl.SSLError):
        tls_connect(port, client_context(pki, ssl.TLSVersion.TLSv1_2)).close()
    with tls_connect(port, client_context(pki, ssl.TLSVersion.TLSv1_3)) as s:
        assert get(s, "/")[0] == 200


def test_pipelining_and_slow_reader_over_tls(hearthd, tmp_path, pki):
    srv, url = start_tls(hearthd, tmp_path, pki, workers=2)
    port = port_of(url)
    with tls_connect(port, client_context(pki, alpn=["http/1.1"])) as s:
        # Three requests in one TLS record: answered in order on one connection.
        s.sendall(b"".join(f"GET /p/{i} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode() for i in range(3)))
        for i in range(3):
            status, _, body = read_response(s)
            assert status == 200 and json.loads(body) == {"path": f"/p/{i}"}
        # A client that reads a large response slowly: the server waits for the socket
        # (OpenSSL's want-write) instead of failing or spinning.
        size = 4 * 1024 * 1024
        s.sendall(b"GET /big?size=%d HTTP/1.1\r\nHost: localhost\r\n\r\n" % size)
        time.sleep(0.5)
        got = b""
        while b"\r\n\r\n" not in got:
            got += s.recv(65536)
        head, _, body = got.partition(b"\r\n\r\n")
        assert b" 200 " in head.split(b"\r\n")[0]
        n = len(body)
        while n < size:
            chunk = s.recv(65536)
            assert chunk
            n += len(chunk)
            if n < size // 2:
                time.sleep(0.002)
        assert n == size
        # Still usable afterwards.
        assert get(s, "/")[0] == 200
    # A response with Connection: close ends with close_notify: the client sees a clean EOF.
    strict = client_context(pki)
    strict.options &= ~getattr(ssl, "OP_IGNORE_UNEXPECTED_EOF", 0)
    with tls_connect(port, strict, ragged_eof_ok=False) as s:
        status, headers, body = get(s, "/", extra="Connection: close\r\n")
        assert status == 200 and headers.get("connection") == "close"
        assert s.recv(100) == b""  # without close_notify this raises SSLEOFError


# --- bad clients -------------------------------------------------------------------------------

def test_garbage_and_silent_clients_do_not_hurt_others(hearthd, tmp_path, pki):
    srv, url = start_tls(hearthd, tmp_path, pki, toml='[http]\nheader_timeout = "1s"\n')
    port = port_of(url)
    # Plain HTTP, random bytes, a truncated ClientHello, and clients that say nothing.
    bad = []
    for payload in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", os.urandom(4096),
                    bytes.fromhex("16030100c8010000c40303") + os.urandom(20), b"", b""):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        if payload:
            s.sendall(payload)
        bad.append(s)
    # Meanwhile good clients are served promptly.
    ctx = client_context(pki)
    for _ in range(5):
        t0 = time.monotonic()
        with tls_connect(port, ctx) as s:
            assert get(s, "/")[0] == 200
        assert time.monotonic() - t0 < 2.0
    # Every bad connection is closed by the server within header_timeout (+ slack).
    t0 = time.monotonic()
    answers = []
    for s in bad:
        s.settimeout(5)
        got = b""
        try:
            while True:
                chunk = s.recv(4096)  # a TLS alert or a plain 400, then EOF
                if not chunk:
                    break
                got += chunk
        except ConnectionResetError:
            pass
        answers.append(got)
        s.close()
    # The plain-HTTP client was told what is wrong.
    assert answers[0].startswith(b"HTTP/1.1 400 Bad Request\r\n"), answers[0]
    assert b"use an https:// URL" in answers[0]
    assert time.monotonic() - t0 < 4.0
    assert srv.proc.poll() is None
    with tls_connect(port, ctx) as s:
        assert get(s, "/")[0] == 200
    # All five were counted.
    import urllib.request
    metrics = urllib.request.urlopen(srv.admin_url + "/metrics", timeout=5).read().decode()
    assert re.search(r"^hearth_tls_handshake_failures_total 5$", metrics, re.M), \
        [line for line in metrics.splitlines() if "tls" in line]


# --- certificate reload ------------------------------------------------------------------------

def hearthctl(tmp_path, *args):
    return run([HEARTHCTL, "--socket", tmp_path / "ctl.sock", *args], timeout=60)


def peer(sock):
    cert = sock.getpeercert()
    subject = dict(x[0] for x in cert["subject"])
    return subject["commonName"], int(cert["serialNumber"], 16)


def test_reload_swaps_certificate_for_new_connections(hearthd, tmp_path, pki):
    if not HEARTHCTL.exists():
        pytest.skip("hearthctl is not built")
    srv, url = start_tls(hearthd, tmp_path, pki, ctl=True)
    port = port_of(url)
    ctx = client_context(pki)
    old = tls_connect(port, ctx)
    assert peer(old) == ("hearth-a.test", 4097)
    assert get(old, "/")[0] == 200

    # Renew in place (as certbot does), then reload.
    shutil.copy(pki["b"][0], tmp_path / "server.pem")
    shutil.copy(pki["b"][1], tmp_path / "server.key")
    r = hearthctl(tmp_path, "reload")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "TLS certificate reloaded for new connections: CN=hearth-b.test" in srv.log()
    with tls_connect(port, ctx) as s:
        assert peer(s) == ("hearth-b.test", 8194)
        assert get(s, "/")[0] == 200
    # The connection opened before the reload still works, on its old certificate.
    status, headers, body = get(old, "/")
    assert (status, body) == (200, b"Hello from basic\n")
    assert peer(old) == ("hearth-a.test", 4097)
    old.close()

    # A broken renewal: the reload reports it, and the previous certificate stays.
    (tmp_path / "server.pem").write_text("not a certificate\n")
    r = hearthctl(tmp_path, "reload")
    assert r.returncode == 1
    msg = (r.stdout + r.stderr).decode()
    assert "TLS certificate reload failed" in msg and "not a usable PEM certificate chain" in msg, msg
    with tls_connect(port, ctx) as s:
        assert peer(s) == ("hearth-b.test", 8194)
        assert get(s, "/")[0] == 200
    # A key that does not match: same.
    shutil.copy(pki["a"][0], tmp_path / "server.pem")
    r = hearthctl(tmp_path, "reload")
    assert r.returncode == 1 and b"does not match" in r.stdout + r.stderr
    with tls_connect(port, ctx) as s:
        assert peer(s) == ("hearth-b.test", 8194)
    assert srv.proc.poll() is None
    assert srv.stop() == 0


# --- redirect and HSTS -------------------------------------------------------------------------

def test_redirect_listener_and_hsts(hearthd, tmp_path, pki):
    toml = '[tls]\nhsts_max_age = "10m"\nredirect_http_from = "127.0.0.1:0"\n'
    srv, url = start_tls(hearthd, tmp_path, pki, toml=toml)
    port = port_of(url)
    m = REDIRECT_RE.search(srv.log())
    assert m, srv.log_tail()
    rport = port_of(m.group(1))

    def plain(req):
        with socket.create_connection(("127.0.0.1", rport), timeout=5) as s:
            s.sendall(req)
            return read_response(s)

    status, headers, _ = plain(b"GET /p/x?y=1 HTTP/1.1\r\nHost: example.test:8080\r\n\r\n")
    assert status == 308
    assert headers["location"] == f"https://example.test:{port}/p/x?y=1"
    assert "strict-transport-security" not in headers  # never over plain HTTP
    status, headers, _ = plain(b"POST /form HTTP/1.1\r\nHost: [::1]\r\nContent-Length: 3\r\n\r\nabc")
    assert (status, headers["location"]) == (308, f"https://[::1]:{port}/form")
    status, _, _ = plain(b"GET / HTTP/1.1\r\nHost: bad host\r\n\r\n")
    assert status == 400
    # curl follows the redirect to HTTPS and gets HSTS there (HTTP/1.1 and h2).
    for proto in ("--http1.1", "--http2"):
        r = curl(pki, proto, "-L", "-D", "-", f"http://localhost:{rport}/")
        out = r.stdout.decode()
        assert r.returncode == 0, r.stderr
        assert f"location: https://localhost:{port}/" in out.lower(), out
        assert "strict-transport-security: max-age=600" in out.lower(), out
        assert out.endswith("Hello from basic\n")
    assert srv.stop() == 0


# --- bad configuration ---------------------------------------------------------------------------

def check_config(tmp_path, *args):
    return run([HEARTHD, "basic:app", "--check-config", *args], cwd=tmp_path)


def test_bad_certificate_configs_exit_2(tmp_path, pki):
    if not HEARTHD.exists():
        pytest.skip("hearthd is not built")
    cert_a, key_a = pki["a"]
    _, key_b = pki["b"]
    r = check_config(tmp_path, "--certfile", cert_a, "--keyfile", key_a)
    assert r.returncode == 0, r.stderr
    assert f'certfile = "{cert_a}"' in r.stdout.decode()
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")
    cases = [
        (["--certfile", tmp_path / "missing.pem", "--keyfile", key_a],
         f"certfile {tmp_path / 'missing.pem'}: cannot read: No such file or directory"),
        (["--certfile", cert_a, "--keyfile", tmp_path / "missing.key"],
         f"keyfile {tmp_path / 'missing.key'}: cannot read: No such file or directory"),
        (["--certfile", cert_a, "--keyfile", key_b], "the private key does not match the certificate"),
        (["--certfile", garbage, "--keyfile", key_a], "not a usable PEM certificate chain"),
        (["--certfile", cert_a], "no private key in it"),
        (["--keyfile", key_a], "--keyfile: is set but certfile is not"),
    ]
    for args, expected in cases:
        r = check_config(tmp_path, *args)
        err = r.stderr.decode()
        assert r.returncode == 2, (args, err)
        assert expected in err, (args, err)
        assert "Segmentation" not in err and "terminate called" not in err
    # Starting for real fails the same way, before anything listens.
    r = run([HEARTHD, "basic:app", "-b", "127.0.0.1:0", "--certfile", cert_a, "--keyfile", key_b], cwd=tmp_path)
    assert r.returncode == 2
    assert b"does not match" in r.stderr and b"not starting" in r.stderr


# --- several certificates by SNI ([[tls.certificates]], issue 19) -----------------------------

def sni_toml(pki, hosts='["api.test", "*.b.test"]'):
    cert_b, key_b = pki["b"]
    return f'[[tls.certificates]]\nhosts = {hosts}\ncertfile = "{cert_b}"\nkeyfile = "{key_b}"\n'


def test_sni_picks_the_certificate_by_server_name(hearthd, tmp_path, pki):
    srv, url = start_tls(hearthd, tmp_path, pki, toml=sni_toml(pki))
    port = port_of(url)
    A, B = ("hearth-a.test", 4097), ("hearth-b.test", 8194)

    def who(name, alpn=None):
        ctx = client_context(pki, alpn=alpn)
        ctx.check_hostname = False  # the test certificates name only localhost
        raw = socket.create_connection(("127.0.0.1", port), timeout=5)
        with ctx.wrap_socket(raw, server_hostname=name) as s:
            if alpn:
                return peer(s), s.selected_alpn_protocol()
            assert get(s, "/", host=name or "localhost")[0] == 200
            return peer(s)

    assert who("api.test") == B
    assert who("API.Test") == B              # names compare case-insensitively
    assert who("x.b.test") == B and who("x.y.b.test") == B
    assert who("b.test") == A                # a wildcard never matches its own suffix
    assert who("localhost") == A             # another name: the top-level certificate
    assert who(None) == A                    # no SNI at all: the same
    assert who("api.test", alpn=["h2", "http/1.1"]) == (B, "h2")  # ALPN survives the switch
    log = srv.log()
    assert "TLS certificate: CN=hearth-a.test" in log and "; for api.test, *.b.test: CN=hearth-b.test" in log, log
    assert srv.stop() == 0


def test_bad_sni_certificate_configs_exit_2(tmp_path, pki):
    if not HEARTHD.exists():
        pytest.skip("hearthd is not built")
    cert_a, key_a = pki["a"]
    conf = tmp_path / "hearth.toml"
    cases = [
        (sni_toml(pki), [], "tls.certificates: needs certfile"),
        (sni_toml(pki, '["a.*.test"]'), ["--certfile", cert_a, "--keyfile", key_a],
         "tls.certificates[0].hosts: 'a.*.test': a wildcard is only allowed as the whole first label"),
        ('[[tls.certificates]]\nhosts = ["x.test"]\n', ["--certfile", cert_a, "--keyfile", key_a],
         "tls.certificates[0]: needs both hosts and certfile"),
        (f'[[tls.certificates]]\nhosts = ["x.test"]\ncertfile = "{tmp_path / "nope.pem"}"\n',
         ["--certfile", cert_a, "--keyfile", key_a],
         f"tls.certificates[0]: certfile {tmp_path / 'nope.pem'}: cannot read: No such file or directory"),
        (f'[[tls.certificates]]\nhosts = ["x.test"]\ncertfile = "{cert_a}"\nkeyfil = "{key_a}"\n',
         ["--certfile", cert_a, "--keyfile", key_a], "(did you mean 'keyfile'?)"),
    ]
    for toml, args, expected in cases:
        conf.write_text(toml)
        r = check_config(tmp_path, "-c", conf, *args)
        err = r.stderr.decode()
        assert r.returncode == 2, (toml, err)
        assert expected in err, (toml, err)
