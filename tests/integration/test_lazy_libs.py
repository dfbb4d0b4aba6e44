"""hearthd maps zlib, brotli and nghttp2 only when [compression] or HTTP/2 uses them (issue 14,
docs/architecture.md "Libraries loaded on demand"), as it does OpenSSL (test_lazy_openssl.py).

- No TLS, no [compression]: after HTTP/1.1 requests none of libssl, libcrypto, libz,
  libbrotlienc, libnghttp2 is in /proc/PID/maps.
- The first h2c connection loads libnghttp2 and is served over HTTP/2.
- [compression] loads what compression.algorithms lists at start-up; gzip and br responses
  decode to the app's bytes.
- A machine without the library (a mount namespace where it is an empty file): [compression]
  is a configuration error naming the key; an h2c preface is answered as with http.http2 =
  false (400), the error logged once, and HTTP/1.1 goes on."""
import gzip
import shutil
import socket
import subprocess

import pytest

from apps.compressible import page_bytes
from conftest import APPS, HEARTHD, PYTHON, Hearthd
from test_compression import curl
from test_lazy_openssl import get, needed_libraries, without
from test_tls import pki, start_tls, wait_https_ready  # noqa: F401 (pki is a fixture)

LAZY = ("libz.so", "libbrotlienc.so", "libnghttp2.so")
ALL = ("libssl.so", "libcrypto.so", *LAZY)


def skip_unless_lazy():
    if shutil.which("readelf") is None:
        pytest.skip("readelf is not installed (binutils)")
    if any(lib.startswith(("libz.", "libbrotlienc", "libnghttp2")) for lib in needed_libraries(HEARTHD)):
        pytest.skip("hearthd links zlib/brotli/nghttp2 directly (built with -DHEARTH_LAZY_LIBS=OFF)")


def mapped(pid, names=ALL):
    with open(f"/proc/{pid}/maps") as f:
        return sorted({n for line in f for n in names if n in line.split()[-1]})


def test_binary_does_not_need_or_export_them():
    skip_unless_lazy()
    out = subprocess.run(["nm", "-D", "--defined-only", str(HEARTHD)], capture_output=True, text=True,
                         timeout=30).stdout
    exported = [line for line in out.splitlines()
                if " deflate" in line or " Brotli" in line or " nghttp2_" in line]
    assert exported == []


def test_http1_maps_none_of_them(hearthd):
    skip_unless_lazy()
    srv = hearthd("basic:app", workers=1)
    for _ in range(50):
        status, _ = get(srv.url + "/")
        assert status == 200
    assert mapped(srv.pid) == []


def test_h2c_loads_nghttp2(hearthd, tmp_path):
    skip_unless_lazy()
    srv = hearthd("basic:app", workers=1)
    get(srv.url + "/")
    assert mapped(srv.pid) == []
    hdr = tmp_path / "h"
    curl("--http2-prior-knowledge", "-D", str(hdr), "-o", "/dev/null", srv.url + "/")
    assert hdr.read_text(errors="replace").startswith("HTTP/2 200"), hdr.read_text(errors="replace")
    assert mapped(srv.pid) == ["libnghttp2.so"]


def test_alpn_h2_loads_nghttp2(hearthd, tmp_path, pki):  # noqa: F811
    """TLS offers h2 but loads nghttp2 only when a client's ALPN asks for it."""
    skip_unless_lazy()
    srv, url = start_tls(hearthd, tmp_path, pki)
    hdr = tmp_path / "h"
    curl("--http1.1", "--cacert", str(pki["ca"]), "-o", "/dev/null", url + "/")
    assert mapped(srv.pid, LAZY) == []
    curl("--http2", "--cacert", str(pki["ca"]), "-D", str(hdr), "-o", "/dev/null", url + "/")
    assert hdr.read_text(errors="replace").startswith("HTTP/2 200"), hdr.read_text(errors="replace")
    assert mapped(srv.pid, LAZY) == ["libnghttp2.so"]


@pytest.mark.parametrize("coding", ["gzip", "br"])
def test_compression_loads_and_serves(hearthd, tmp_path, coding):
    skip_unless_lazy()
    srv = hearthd("compressible:app", workers=1, toml='[compression]\nenabled = true\n')
    assert mapped(srv.pid, LAZY) == ["libbrotlienc.so", "libz.so"]  # at start-up: both listed by default
    url = f"http://127.0.0.1:{srv.port}/page?size=20000"
    hdr = tmp_path / "h"
    raw = curl("--http1.1", "-H", f"Accept-Encoding: {coding}", "-D", str(hdr), url)
    assert f"content-encoding: {coding}" in hdr.read_text(errors="replace").lower()
    assert len(raw) < 2000
    if coding == "gzip":
        assert gzip.decompress(raw) == page_bytes(20000)
    body = curl("--http1.1", "--compressed", "-H", f"Accept-Encoding: {coding}", url)  # curl decodes
    assert body == page_bytes(20000)


def test_compression_loads_only_the_listed_algorithm(hearthd):
    skip_unless_lazy()
    srv = hearthd("compressible:app", workers=1,
                  toml='[compression]\nenabled = true\nalgorithms = ["gzip"]\n')
    assert mapped(srv.pid, LAZY) == ["libz.so"]


# --- a machine without the library -------------------------------------------------------

def test_compression_without_brotli_is_a_configuration_error(tmp_path):
    skip_unless_lazy()
    ns = without(tmp_path, "libbrotlienc.so.1")
    cfg = tmp_path / "h.toml"
    base = [str(HEARTHD), "basic:app", "--python", PYTHON, "--chdir", APPS, "-b", "127.0.0.1:0", "-c", str(cfg)]
    cfg.write_text('[compression]\nenabled = true\n')
    for extra in (["--check-config"], []):
        r = subprocess.run([*ns, *base, *extra], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                           stdin=subprocess.DEVNULL)
        assert r.returncode == 2, r.stderr
        assert 'hearthd: compression.algorithms: "br": brotli compression needs libbrotlienc.so.1: ' in r.stderr
        assert "1 configuration error(s)" in r.stderr
    cfg.write_text('[compression]\nenabled = true\nalgorithms = ["gzip"]\n')  # brotli not needed
    r = subprocess.run([*ns, *base, "--check-config"], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr


def h2c_preface_answer(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        buf = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return buf
            buf += chunk
    finally:
        s.close()


def test_h2c_without_nghttp2_is_answered_as_with_http2_off(tmp_path, hearthd):
    skip_unless_lazy()
    ns = without(tmp_path, "libnghttp2.so.14")
    off = hearthd("basic:app", workers=1, toml="[http]\nhttp2 = false\n")
    want = h2c_preface_answer(off.port).split(b"\r\n", 1)[0]
    assert want.startswith(b"HTTP/1.1 400"), want
    args = ["basic:app", "--python", PYTHON, "--chdir", APPS, "-b", "127.0.0.1:0", "--admin-bind", "127.0.0.1:0", "-w", "1"]
    srv = Hearthd(args, tmp_path, "nonghttp2")
    srv.args = [*ns, *srv.args]
    srv.start()
    try:
        srv.wait_ready()
        for _ in range(2):
            assert h2c_preface_answer(srv.port).split(b"\r\n", 1)[0] == want
        status, _ = get(srv.url + "/")
        assert status == 200
        log = srv.log()
        assert log.count("HTTP/2 needs libnghttp2.so.14: ") == 1, srv.log_tail()
        assert "serving HTTP/1.1 only" in log
        assert srv.proc.poll() is None
    finally:
        srv.cleanup()


def test_alpn_h2_without_nghttp2_selects_http11(tmp_path, pki):  # noqa: F811
    skip_unless_lazy()
    ns = without(tmp_path, "libnghttp2.so.14")
    cert_src, key_src = pki["a"]
    args = ["basic:app", "--python", PYTHON, "--chdir", APPS, "-b", "127.0.0.1:0", "--admin-bind", "127.0.0.1:0",
            "-w", "1", "--certfile", cert_src, "--keyfile", key_src]
    srv = Hearthd([str(a) for a in args], tmp_path, "nonghttp2tls")
    srv.args = [*ns, *srv.args]
    srv.start()
    try:
        url = wait_https_ready(srv)
        hdr = tmp_path / "h"
        for _ in range(2):
            curl("--http2", "--cacert", str(pki["ca"]), "-D", str(hdr), "-o", "/dev/null", url + "/")
            assert hdr.read_text(errors="replace").startswith("HTTP/1.1 200"), hdr.read_text(errors="replace")
        log = srv.log()
        assert log.count("HTTP/2 needs libnghttp2.so.14: ") == 1, srv.log_tail()
        assert srv.proc.poll() is None
    finally:
        srv.cleanup()
