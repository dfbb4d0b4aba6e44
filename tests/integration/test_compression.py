"""[compression]: dynamic gzip/brotli of the app's responses, checked with curl --compressed
(HTTP/1.1 and HTTP/2), hand-written Accept-Encoding with q-values, streamed responses that
must arrive chunk by chunk, and the responses that must never be compressed."""
import gzip
import os
import re
import shutil
import subprocess
import time
import zlib

import pytest

import hhttp
from apps.compressible import page_bytes

ON = '[compression]\nenabled = true\n'


@pytest.fixture(scope="module")
def srv(hearthd_module):
    return hearthd_module("compressible:app", workers=1, toml=ON)


def curl(*args):
    path = shutil.which("curl")
    if not path:
        pytest.skip("curl is not installed")
    r = subprocess.run([path, "-sS", "--max-time", "15", *args], capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout


def headers_of(raw):
    head = raw.split(b"\r\n\r\n")[0].decode("latin-1")
    return {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in head.split("\r\n")[1:])}


@pytest.mark.parametrize("proto", ["--http1.1", "--http2-prior-knowledge"])
def test_curl_compressed_gets_brotli_and_the_same_bytes(srv, proto, tmp_path):
    url = f"http://127.0.0.1:{srv.port}/page?size=20000&etag=%22v1%22"
    hdr = tmp_path / "h"
    body = curl(proto, "--compressed", "-D", str(hdr), url)
    assert body == page_bytes(20000)
    h = headers_of(hdr.read_bytes())
    assert h["content-encoding"] == "br"
    assert h["vary"] == "Accept-Encoding"
    assert h["etag"] == 'W/"v1"'
    assert "content-length" not in h or int(h["content-length"]) < 20000  # h2 may not send one
    raw = curl(proto, "-H", "Accept-Encoding: br", url)
    assert len(raw) < 2000, len(raw)  # what went over the wire


def test_compressed_responses_are_counted(srv):
    import urllib.request

    def count(enc):
        with urllib.request.urlopen(srv.admin_url + "/metrics", timeout=5) as r:
            m = re.search(rf'^hearth_compressed_responses_total{{encoding="{enc}"}} (\S+)$', r.read().decode(), re.M)
        return float(m.group(1))
    before = count("gzip"), count("br")
    hhttp.get(srv.port, "/page?size=20000", headers=[("Accept-Encoding", "gzip")])
    hhttp.get(srv.port, "/page?size=20000", headers=[("Accept-Encoding", "br")])
    hhttp.get(srv.port, "/page?size=100", headers=[("Accept-Encoding", "br")])  # below min_size
    assert (count("gzip"), count("br")) == (before[0] + 1, before[1] + 1)


def test_gzip_by_q_values(srv):
    r = hhttp.get(srv.port, "/page?size=20000", headers=[("Accept-Encoding", "br;q=0.2, gzip;q=0.9")])
    assert r.header("Content-Encoding") == "gzip"
    assert r.header("Content-Length") is None and r.chunked
    assert gzip.decompress(r.body) == page_bytes(20000)


def test_not_accepted_sends_identity_with_vary(srv):
    for accept in (None, "gzip;q=0, br;q=0", "identity", "deflate"):
        hdrs = [("Accept-Encoding", accept)] if accept else []
        r = hhttp.get(srv.port, "/page?size=20000", headers=hdrs)
        assert r.header("Content-Encoding") is None, accept
        assert r.header("Vary") == "Accept-Encoding", accept
        assert r.body == page_bytes(20000)
        assert r.header("Content-Length") == "20000"


@pytest.mark.parametrize("query", [
    "size=20000&ce=identity",              # the app chose an encoding
    "size=20000&status=206&range=1",       # a range
    "size=20000&cc=public,%20no-transform",
    "size=1000",                           # below min_size (1KiB)
    "size=20000&type=image/png",           # not a listed type
])
def test_never_compressed(srv, query):
    r = hhttp.get(srv.port, "/page?" + query, headers=[("Accept-Encoding", "gzip, br")])
    assert r.header("Content-Encoding") in (None, "identity"), query
    assert r.body == page_bytes(int(re.search(r"size=(\d+)", query).group(1)))


def dechunk(raw):
    """The body bytes of the complete chunks in `raw` (a chunked body, head removed)."""
    body = b""
    while True:
        m = re.match(rb"([0-9a-fA-F]+)\r\n", raw)
        if not m or len(raw) < m.end() + int(m.group(1), 16) + 2:
            return body
        n = int(m.group(1), 16)
        body += raw[m.end():m.end() + n]
        raw = raw[m.end() + n + 2:]


def test_streamed_response_is_flushed_per_chunk(srv):
    with hhttp.Conn(srv.port) as c:
        c.send(hhttp.request("GET", "/stream?n=3&delay_ms=1500", headers=[("Accept-Encoding", "gzip")]))
        t0 = time.monotonic()
        raw = b""
        while True:
            chunk = c.sock.recv(65536)
            assert chunk, "closed before the first event"
            raw += chunk
            if b"\r\n\r\n" not in raw:
                continue
            head, body = raw.split(b"\r\n\r\n", 1)
            assert b"content-encoding: gzip" in head.lower()
            text = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(dechunk(body))
            if text:
                break
        assert text == b"event 0\n"
        assert time.monotonic() - t0 < 1.2, "the first event waited for the rest of the stream"


def test_streamed_response_decodes_whole(srv):
    r = hhttp.get(srv.port, "/stream?n=5&delay_ms=10", headers=[("Accept-Encoding", "gzip")])
    assert r.header("Content-Encoding") == "gzip"
    assert gzip.decompress(r.body) == b"".join(f"event {k}\n".encode() for k in range(5))


def test_file_wrapper_body_is_compressed(srv):
    r = hhttp.get(srv.port, "/file", headers=[("Accept-Encoding", "gzip")])
    assert r.header("Content-Encoding") == "gzip"
    with open(os.path.join(os.path.dirname(__file__), "apps", "compressible.py"), "rb") as f:
        assert gzip.decompress(r.body) == f.read()


def test_head_has_the_get_headers(srv):
    r = hhttp.fetch(srv.port, "HEAD", "/page?size=20000", headers=[("Accept-Encoding", "gzip")])
    assert r.status == 200
    assert r.header("Content-Encoding") == "gzip"
    assert r.body == b""


def test_off_by_default(hearthd):
    s = hearthd("compressible:app", workers=1)
    r = hhttp.get(s.port, "/page?size=20000", headers=[("Accept-Encoding", "gzip, br")])
    assert r.header("Content-Encoding") is None
    assert r.header("Vary") is None
    assert r.body == page_bytes(20000)


def test_algorithms_level_and_min_size(hearthd):
    s = hearthd("compressible:app", workers=1,
                toml='[compression]\nenabled = true\nalgorithms = ["gzip"]\nlevel = 9\nmin_size = "64KiB"\n')
    r = hhttp.get(s.port, "/page?size=100000", headers=[("Accept-Encoding", "br, gzip")])
    assert r.header("Content-Encoding") == "gzip"
    r = hhttp.get(s.port, "/page?size=20000", headers=[("Accept-Encoding", "br, gzip")])
    assert r.header("Content-Encoding") is None  # below 64 KiB
    r = hhttp.get(s.port, "/page?size=20000&nolen=1", headers=[("Accept-Encoding", "gzip")])
    assert r.header("Content-Encoding") == "gzip"  # no length: streamed, compressed


def test_bad_config_is_an_error(hearthd, tmp_path):
    from conftest import HEARTHD
    cfg = tmp_path / "c.toml"
    cfg.write_text('app = "compressible:app"\n[compression]\nenabled = true\nalgorithms = ["zstd"]\nlevel = 12\n')
    r = subprocess.run([str(HEARTHD), "-c", str(cfg), "--check-config"], capture_output=True, timeout=30)
    err = r.stderr.decode()
    assert r.returncode != 0
    assert f"{cfg}:4:15: compression.algorithms: expected \"br\" and/or \"gzip\"" in err, err
    assert f"{cfg}:5:9: compression.level: must be 1..11, got 12" in err, err
