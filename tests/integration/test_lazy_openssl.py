"""hearthd maps libssl/libcrypto only when TLS is configured (issue 14, docs/architecture.md
"OpenSSL, loaded on demand"): they are not DT_NEEDED; the daemon loads them with dlopen.

- No TLS configured: after HTTP requests, /metrics and a WebSocket handshake (whose SHA-1 is
  the daemon's own, websocket/sha1.h), neither library is in /proc/PID/maps.
- A TLS listener, or an https:// keepwarm.url: the libraries are loaded and HTTPS works
  (test_tls.py covers the listener's features).
- A machine without a usable libssl.so.3 (a mount namespace where it is an empty file): a TLS
  listener or an https:// keepwarm.url is a configuration error (exit 2) naming the key, for
  --check-config and for a real start; without TLS the daemon runs as usual."""
import base64
import hashlib
import os
import platform
import shutil
import socket
import ssl
import subprocess
import urllib.request

import pytest

from conftest import APPS, HEARTHD, PYTHON
from test_tls import pki, start_tls  # noqa: F401 (pki is a fixture)

KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def needed_libraries(binary):
    out = subprocess.run(["readelf", "-d", str(binary)], capture_output=True, text=True, timeout=30).stdout
    return [line.split("[", 1)[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line]


def skip_unless_lazy():
    if shutil.which("readelf") is None:
        pytest.skip("readelf is not installed (binutils)")
    if any(lib.startswith(("libssl", "libcrypto")) for lib in needed_libraries(HEARTHD)):
        pytest.skip("hearthd links OpenSSL directly (built with -DHEARTH_LAZY_OPENSSL=OFF)")


def openssl_mappings(pid):
    with open(f"/proc/{pid}/maps") as f:
        return sorted({line.split()[-1] for line in f
                       if "libssl.so" in line or "libcrypto.so" in line})


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.read()


def test_binary_does_not_need_or_export_openssl():
    skip_unless_lazy()
    out = subprocess.run(["nm", "-D", "--defined-only", str(HEARTHD)], capture_output=True, text=True,
                         timeout=30).stdout
    exported = [line for line in out.splitlines() if " SSL_" in line or " ERR_" in line or " BIO_" in line]
    assert exported == [], "hearthd exports OpenSSL names; libssl's own calls could bind to them"


def test_plain_http_never_maps_openssl(hearthd):
    skip_unless_lazy()
    srv = hearthd("basic:app", workers=2)
    for _ in range(50):
        status, _ = get(srv.url + "/")
        assert status == 200
    status, body = get(srv.admin_url + "/metrics")
    assert status == 200 and b"hearth_" in body
    assert openssl_mappings(srv.pid) == []


def test_websocket_handshake_never_maps_openssl(hearthd):
    skip_unless_lazy()
    srv = hearthd("asgi_ws:app", workers=1)
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    try:
        s.sendall(("GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65536)
            assert chunk, f"connection closed before the 101: {buf!r}"
            buf += chunk
    finally:
        s.close()
    head = buf.partition(b"\r\n\r\n")[0].decode("latin-1")
    assert head.startswith("HTTP/1.1 101 "), head
    want = base64.b64encode(hashlib.sha1((KEY + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
    assert f"Sec-WebSocket-Accept: {want.decode()}" in head
    assert openssl_mappings(srv.pid) == []


def test_tls_listener_loads_openssl(hearthd, tmp_path, pki):  # noqa: F811
    skip_unless_lazy()
    srv, url = start_tls(hearthd, tmp_path, pki)
    mapped = openssl_mappings(srv.pid)
    assert any("libssl.so.3" in m for m in mapped), mapped
    assert any("libcrypto.so.3" in m for m in mapped), mapped
    ctx = ssl.create_default_context(cafile=str(pki["ca"]))
    with urllib.request.urlopen(url + "/", timeout=10, context=ctx) as r:
        assert r.status == 200


def test_https_keepwarm_loads_openssl_and_pings(hearthd, tmp_path, pki):  # noqa: F811
    """A daemon without a TLS listener whose keepwarm.url is https:// (another hearthd's HTTPS
    listener, its CA trusted through OpenSSL's SSL_CERT_FILE): the pinger's handshake, SNI
    and host-name check run through the loaded library."""
    skip_unless_lazy()
    _, url = start_tls(hearthd, tmp_path, pki)
    toml = f'[keepwarm]\nurl = "{url}/"\ninterval = "300ms"\njitter = "0s"\ntimeout = "2s"\n'
    env = {**os.environ, "SSL_CERT_FILE": str(pki["ca"])}
    pinger = hearthd("basic:app", workers=1, toml=toml, env=env)
    pinger.wait_log(rf"ping {url}/ -> 200 in \d+ ms", timeout=10)
    mapped = openssl_mappings(pinger.pid)
    assert any("libssl.so.3" in m for m in mapped), mapped


# --- a machine without libssl ------------------------------------------------------------

# ldconfig's tag for this machine's own libraries ("(libc6,x86-64)"), so that an i386
# copy of a multiarch library is not the one hidden.
_ARCH_TAG = {"x86_64": "x86-64", "aarch64": "AArch64"}.get(platform.machine(), "")


def library_path(soname):
    """Where the dynamic loader finds SONAME (ldconfig -p), this machine's architecture first."""
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, timeout=30).stdout
    found = [line for line in out.splitlines() if line.strip().startswith(soname + " ") and "=>" in line]
    found.sort(key=lambda line: _ARCH_TAG not in line.split("=>", 1)[0])
    return os.path.realpath(found[0].split("=>", 1)[1].strip()) if found else None


def without(tmp_path, soname):
    """The command prefix that runs a program in a private mount namespace where SONAME is an empty file."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip(f"needs root and unshare (a mount namespace hides {soname})")
    lib = library_path(soname)
    if lib is None:
        pytest.skip(f"ldconfig does not know {soname}")
    empty = tmp_path / "empty.so"
    empty.write_bytes(b"")
    namespace = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                 'mount --bind "$1" "$2" && shift 2 && exec "$@"', "sh", str(empty), lib]
    probe = subprocess.run([*namespace, "true"], capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL)
    if probe.returncode != 0:
        pytest.skip(f"cannot bind-mount over {lib} in a mount namespace here: {probe.stderr.strip()}")
    return namespace


def run_without_libssl(tmp_path, args, timeout=60):
    """hearthd ARGS in a private mount namespace where libssl.so.3 is an empty file."""
    return subprocess.run([*without(tmp_path, "libssl.so.3"), str(HEARTHD), *[str(a) for a in args]],
                          capture_output=True, text=True, timeout=timeout, cwd=tmp_path,
                          stdin=subprocess.DEVNULL)


def test_tls_without_libssl_is_a_configuration_error(tmp_path):
    skip_unless_lazy()
    pem = tmp_path / "x.pem"
    pem.write_text("not read: the library is checked first\n")
    for extra in (["--check-config"], []):
        r = run_without_libssl(tmp_path, ["basic:app", "--python", PYTHON, "--chdir", APPS, "-b", "127.0.0.1:0",
                                          "--certfile", pem, *extra])
        assert r.returncode == 2, r.stderr
        assert "hearthd: tls.certfile: TLS needs libssl.so.3: " in r.stderr, r.stderr
        assert "1 configuration error(s)" in r.stderr


def test_https_keepwarm_without_libssl_is_a_configuration_error(tmp_path):
    skip_unless_lazy()
    cfg = tmp_path / "h.toml"
    cfg.write_text('[keepwarm]\nurl = "https://example.org/"\n')
    r = run_without_libssl(tmp_path, ["basic:app", "--python", PYTHON, "--chdir", APPS, "-b", "127.0.0.1:0",
                                      "-c", cfg, "--check-config"])
    assert r.returncode == 2, r.stderr
    assert "hearthd: keepwarm.url: TLS needs libssl.so.3: " in r.stderr, r.stderr


def test_without_tls_no_libssl_is_needed(tmp_path):
    skip_unless_lazy()
    cfg = tmp_path / "h.toml"
    cfg.write_text('[keepwarm]\nurl = "http://example.org/"\n')
    r = run_without_libssl(tmp_path, ["basic:app", "--python", PYTHON, "--chdir", APPS, "-b", "127.0.0.1:0",
                                      "-c", cfg, "--check-config"])
    assert r.returncode == 0, r.stderr
    assert "configuration OK" in r.stderr
