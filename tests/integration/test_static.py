"""Static files ([[static]] mounts, --static): served by hearthd itself, checked with real
clients (curl over HTTP/1.1, h2c and HTTPS, nghttp, raw sockets). Conditional requests
(ETag/Last-Modified, 304, 412), single ranges (206/416, If-Range), HEAD, precompressed
.br/.gz chosen by Accept-Encoding with Vary, MIME types, Cache-Control, index files,
fallthrough to the app, traversal attempts (.., encoded .., %2f, NUL, backslash, a
symlink out of the root, dotfiles), a 20 MB file with its sha256 over every transport
without hearthd holding it in memory, static requests never reaching Python (the app
records every request it gets; a busy worker does not delay a static file), config
errors (exit 2), http.via on proxied responses, metrics and the access log."""
import email.utils
import gzip
import hashlib
import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import threading
import time
import warnings

import pytest

import hhttp
from conftest import HEARTHD, http_status, poll
from hw_helpers import metric, scrape

BIG = 20 * 1024 * 1024
CACHE = "public, max-age=604800"


def _tool(name):
    path = shutil.which(name)
    if not path:
        pytest.skip(f"{name} is not installed (packaging/install-deps.sh test)")
    return path


class Reply:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def header(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return f"<{self.status} {self.headers} {self.body[:80]!r}>"


def curl(url, *args, tmp):
    """One request with curl (-sS, never following redirects); the last response's
    status, headers (lower-cased names; repeated ones joined by ', ') and body."""
    hdr, out = tmp / "curl.headers", tmp / "curl.body"
    for f in (hdr, out):
        if f.exists():
            f.unlink()
    r = subprocess.run([_tool("curl"), "-sS", "--max-time", "30", "-D", str(hdr), "-o", str(out),
                        *[str(a) for a in args], url], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    blocks = [b for b in hdr.read_bytes().decode("latin-1").split("\r\n\r\n") if b.strip()]
    lines = blocks[-1].split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        key = name.strip().lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    return Reply(status, headers, out.read_bytes() if out.exists() else b"")


def etag_of(path):
    st = os.stat(path)
    return f'"{st.st_mtime_ns:x}-{st.st_size:x}"'


def recorded(site):
    f = site["record"]
    return [json.loads(l) for l in f.read_text().splitlines()] if f.exists() else []


def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def check_peak_rss(pid, before_kib, what):
    """The daemon's peak RSS grew by less than 8 MiB (a 20 MiB file was never held whole).
    Not under ASan: its quarantine keeps freed buffers resident by design, so .ci/run runs
    these tests once more against the Release binary (build-deb) where the check holds."""
    with open(f"/proc/{pid}/maps") as f:
        if "libasan" in f.read():
            warnings.warn(f"peak-RSS check for {what} not run under ASan (.ci/run runs it on the Release build)")
            return
    grown = vm_hwm_kib(pid) - before_kib
    assert grown < 8 * 1024, f"hearthd's peak RSS grew by {grown} KiB while sending {what}"


def make_tree(base):
    root = base / "public"
    (root / "sub").mkdir(parents=True)
    (root / "ft").mkdir()
    (root / "hello.txt").write_bytes(b"hello, static world\n")
    (root / "style.css").write_text("body { color: red }\n")
    js = b"console.log('uncompressed');\n" * 40
    (root / "app.js").write_bytes(js)
    (root / "app.js.gz").write_bytes(gzip.compress(js))
    (root / "app.js.br").write_bytes(b"BROTLI-VARIANT-BYTES")
    (root / "sub" / "index.html").write_text("<h1>sub index</h1>\n")
    (root / ".env").write_text("SECRET=dotfile\n")
    (root / "ft" / "there.txt").write_text("static in a fallthrough mount\n")
    (base / "secret.txt").write_text("TOP SECRET outside the root\n")
    (root / "escape.txt").symlink_to(base / "secret.txt")
    (root / "rel-escape.txt").symlink_to("../secret.txt")
    (root / "sub" / "up.txt").symlink_to("../hello.txt")  # relative, stays inside
    (root / "big.bin").write_bytes(os.urandom(BIG))
    cli = base / "cli-root"
    cli.mkdir()
    (cli / "via-cli.txt").write_text("mounted by --static\n")
    return root, cli


def site_toml(root, via=True):
    return (f"[http]\nvia = {'true' if via else 'false'}\n"
            f'[[static]]\nprefix = "/static/"\ndir = "{root}"\ncache_control = "{CACHE}"\n'
            f'[[static]]\nprefix = "/dots"\ndir = "{root}"\nallow_dotfiles = true\n'
            f'[[static]]\nprefix = "/ft/"\ndir = "{root}/ft"\nfallthrough = true\n')


@pytest.fixture(scope="module")
def site(hearthd_module, tmp_path_factory):
    base = tmp_path_factory.mktemp("static")
    root, cli = make_tree(base)
    record = base / "record.jsonl"
    access = base / "access.log"
    srv = hearthd_module("recorder:app", "-e", f"HEARTH_TEST_RECORD={record}", "--static", f"/cli={cli}",
                         "--access-logfile", access, "--access-log-format", "json",
                         workers=1, toml=site_toml(root))
    return {"srv": srv, "root": root, "base": base, "record": record, "access": access,
            "url": srv.url}


@pytest.fixture
def get(site, tmp_path):
    def fetch(path, *args):
        return curl(site["url"] + path, "--path-as-is", *args, tmp=tmp_path)
    return fetch


@pytest.fixture(autouse=True)
def nothing_static_reaches_python(request):
    """After every test using `site`: the app saw no request for a static path."""
    yield
    if "site" in request.fixturenames:
        site = request.getfixturevalue("site")
        leaked = [e["path"] for e in recorded(site) if e["path"].startswith(("/static", "/dots", "/cli"))]
        assert not leaked, f"static paths reached the app: {leaked}"


# ------------------------------------------------------------------ plain GET / HEAD

def test_file_is_served_with_type_length_validators_and_cache_control(site, get):
    path = site["root"] / "hello.txt"
    r = get("/static/hello.txt?v=1")
    assert r.status == 200 and r.body == path.read_bytes()
    assert r.header("content-type") == "text/plain; charset=utf-8"
    assert r.header("content-length") == str(path.stat().st_size)
    assert r.header("etag") == etag_of(path)
    assert r.header("last-modified") == email.utils.formatdate(int(path.stat().st_mtime), usegmt=True)
    assert r.header("cache-control") == CACHE
    assert r.header("accept-ranges") == "bytes"
    assert r.header("via") is None          # static files are not proxied
    assert r.header("x-request-id") is None
    css = get("/static/style.css")
    assert css.status == 200 and css.header("content-type") == "text/css; charset=utf-8"
    assert get("/static/big.bin", "-r", "0-0").header("content-type") == "application/octet-stream"
    assert get("/dots/hello.txt").header("cache-control") is None  # not configured on that mount


def test_head_has_the_headers_and_no_body_and_pipelining_keeps_order(site):
    size = (site["root"] / "hello.txt").stat().st_size
    with hhttp.Conn(site["srv"].port, timeout=10) as c:
        c.send(b"HEAD /static/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n"
               b"GET /static/style.css HTTP/1.1\r\nHost: x\r\n\r\n"
               b"GET /static/hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = c.read_until_close()
    heads = re.findall(rb"HTTP/1.1 (\d+) [^\r]*\r\n(.*?)\r\n\r\n", data, re.S)
    assert [h[0] for h in heads] == [b"200", b"200", b"200"], data
    assert f"Content-Length: {size}".encode() in heads[0][1]
    # HEAD sent no body: the CSS response starts right after its head, then the text file.
    first_end = data.index(b"\r\n\r\n") + 4
    assert data[first_end:].startswith(b"HTTP/1.1 200")
    assert data.endswith(b"hello, static world\n")
    assert b"body { color: red }\n" in data


def test_absolute_form_target_is_served_too(site):
    with hhttp.Conn(site["srv"].port, timeout=10) as c:
        c.send(b"GET http://example.com/static/hello.txt HTTP/1.1\r\nHost: example.com\r\n"
               b"Connection: close\r\n\r\n")
        data = c.read_until_close()
    assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"\r\n\r\nhello, static world\n"), data


def test_other_methods_get_405_with_allow(site, get):
    r = get("/static/hello.txt", "-X", "POST", "-d", "x=1")
    assert r.status == 405 and r.header("allow") == "GET, HEAD"
    assert get("/static/hello.txt", "-X", "DELETE").status == 405


# ------------------------------------------------------------------ conditional requests

def test_if_none_match_and_if_modified_since_give_304(site, get):
    path = site["root"] / "hello.txt"
    full = get("/static/hello.txt")
    tag, lm = full.header("etag"), full.header("last-modified")
    r = get("/static/hello.txt", "-H", f"If-None-Match: {tag}")
    assert r.status == 304 and r.body == b""
    assert r.header("etag") == tag and r.header("last-modified") == lm and r.header("cache-control") == CACHE
    assert get("/static/hello.txt", "-H", f'If-None-Match: "nope", W/{tag}').status == 304
    assert get("/static/hello.txt", "-H", "If-None-Match: *").status == 304
    assert get("/static/hello.txt", "-H", f"If-Modified-Since: {lm}").status == 304
    later = email.utils.formatdate(path.stat().st_mtime + 3600, usegmt=True)
    assert get("/static/hello.txt", "-H", f"If-Modified-Since: {later}").status == 304
    earlier = email.utils.formatdate(path.stat().st_mtime - 3600, usegmt=True)
    r = get("/static/hello.txt", "-H", f"If-Modified-Since: {earlier}")
    assert r.status == 200 and r.body == path.read_bytes()
    # If-None-Match wins: a different tag means 200 even with a matching date.
    r = get("/static/hello.txt", "-H", 'If-None-Match: "other"', "-H", f"If-Modified-Since: {lm}")
    assert r.status == 200
    assert get("/static/hello.txt", "-H", "If-Modified-Since: not a date").status == 200
    assert get("/static/hello.txt", "-H", 'If-Match: "other"').status == 412
    assert get("/static/hello.txt", "-H", f"If-Match: {tag}").status == 200


def test_etag_changes_when_the_file_changes(site, get, tmp_path):
    path = site["root"] / "changing.txt"
    path.write_text("one\n")
    first = get("/static/changing.txt").header("etag")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000))
    path.write_text("two!\n")
    r = get("/static/changing.txt", "-H", f"If-None-Match: {first}")
    assert r.status == 200 and r.body == b"two!\n" and r.header("etag") != first


def _settle(path, seconds_ago=3600):
    """Set a file's mtime into the past: a deployed file, which hearthd keeps in memory when small."""
    t = time.time() - seconds_ago
    os.utime(path, (t, t))


def test_small_settled_file_from_memory_sees_every_change(site, get, tmp_path):
    # A small file whose mtime is over a second old is answered from memory after one stat
    # (docs/static.md); any change to the file is seen by the very next request.
    root = site["root"]
    path = root / "kept.css"
    path.write_bytes(b"body { color: red }\n")
    _settle(path)
    first = get("/static/kept.css")
    assert first.status == 200 and first.body == b"body { color: red }\n"
    assert first.header("content-type") == "text/css; charset=utf-8"
    assert first.header("etag") == etag_of(path) and first.header("cache-control") == CACHE
    for args in ([], ["--http2-prior-knowledge"]):
        r = get("/static/kept.css", *args)
        assert r.status == 200 and r.body == first.body and r.header("etag") == first.header("etag"), args
        assert r.header("last-modified") == first.header("last-modified"), args
        assert get("/static/kept.css", *args, "-H", f"If-None-Match: {first.header('etag')}").status == 304, args
        part = get("/static/kept.css", *args, "-r", "7-11")
        assert part.status == 206 and part.body == b"color", args
    head = get("/static/kept.css", "-I")
    assert head.status == 200 and head.header("content-length") == str(len(first.body))
    # Replaced by a rename, same size: the new file at once.
    new = root / "kept.css.tmp"
    new.write_bytes(b"body { color: blu }\n")
    _settle(new, 1800)
    os.rename(new, path)
    r = get("/static/kept.css")
    assert r.body == b"body { color: blu }\n" and r.header("etag") == etag_of(path) != first.header("etag")
    # Rewritten in place, same size, its mtime set back again: the new bytes.
    path.write_bytes(b"body { color: grn }\n")
    _settle(path, 1200)
    assert get("/static/kept.css").body == b"body { color: grn }\n"
    # Just modified (not settled): read from disk, still right.
    path.write_bytes(b"p {}\n")
    assert get("/static/kept.css").body == b"p {}\n"
    # Removed: 404.
    _settle(path)
    assert get("/static/kept.css").body == b"p {}\n"
    path.unlink()
    assert get("/static/kept.css").status == 404
    # Turned into a symlink out of the root: refused, never the kept bytes.
    path.write_bytes(b"body { color: red }\n")
    _settle(path)
    assert get("/static/kept.css").status == 200
    path.unlink()
    path.symlink_to("../secret.txt")
    assert get("/static/kept.css").status == 404


# ------------------------------------------------------------------ ranges

def test_ranges_first_last_open_suffix_and_416(site, get):
    data = (site["root"] / "hello.txt").read_bytes()
    n = len(data)
    r = get("/static/hello.txt", "-r", "0-4")
    assert r.status == 206 and r.body == data[:5]
    assert r.header("content-range") == f"bytes 0-4/{n}" and r.header("content-length") == "5"
    r = get("/static/hello.txt", "-r", "7-")
    assert r.status == 206 and r.body == data[7:] and r.header("content-range") == f"bytes 7-{n - 1}/{n}"
    r = get("/static/hello.txt", "-r", "-6")
    assert r.status == 206 and r.body == data[-6:]
    r = get("/static/hello.txt", "-r", f"{n}-")
    assert r.status == 416 and r.header("content-range") == f"bytes */{n}"
    # Several ranges: documented as the whole file with 200 (no multipart/byteranges).
    r = get("/static/hello.txt", "-r", "0-1,4-5")
    assert r.status == 200 and r.body == data
    # If-Range: a stale validator means the whole file.
    r = get("/static/hello.txt", "-r", "0-1", "-H", 'If-Range: "stale"')
    assert r.status == 200 and r.body == data
    tag = etag_of(site["root"] / "hello.txt")
    r = get("/static/hello.txt", "-r", "0-1", "-H", f"If-Range: {tag}")
    assert r.status == 206 and r.body == data[:2]
    big = site["root"] / "big.bin"
    with open(big, "rb") as f:
        f.seek(BIG - 100_000)
        tail = f.read()
    r = get("/static/big.bin", "-r", f"{BIG - 100_000}-")
    assert r.status == 206 and r.body == tail


def test_ranges_and_conditionals_over_h2c(site, get):
    data = (site["root"] / "hello.txt").read_bytes()
    r = get("/static/hello.txt", "--http2-prior-knowledge", "-r", "2-5")
    assert r.status == 206 and r.body == data[2:6]
    tag = get("/static/hello.txt", "--http2-prior-knowledge").header("etag")
    assert get("/static/hello.txt", "--http2-prior-knowledge", "-H", f"If-None-Match: {tag}").status == 304
    head = get("/static/hello.txt", "--http2-prior-knowledge", "-I")  # curl -I writes the head to -o
    assert head.status == 200 and head.header("content-length") == str(len(data)) and data not in head.body


# ------------------------------------------------------------------ precompressed variants

def test_precompressed_variant_by_accept_encoding(site, get, tmp_path):
    root = site["root"]
    r = get("/static/app.js", "-H", "Accept-Encoding: gzip, deflate, br")
    assert r.status == 200 and r.body == (root / "app.js.br").read_bytes()
    assert r.header("content-encoding") == "br" and r.header("vary") == "Accept-Encoding"
    assert r.header("content-type") == "text/javascript; charset=utf-8"
    assert r.header("etag") == etag_of(root / "app.js.br")
    r = get("/static/app.js", "-H", "Accept-Encoding: gzip")
    assert r.body == (root / "app.js.gz").read_bytes() and r.header("content-encoding") == "gzip"
    assert r.header("etag") == etag_of(root / "app.js.gz")
    # q=0 is a refusal.
    r = get("/static/app.js", "-H", "Accept-Encoding: br;q=0, gzip")
    assert r.header("content-encoding") == "gzip"
    r = get("/static/app.js", "-H", "Accept-Encoding: gzip;q=0, br;q=0")
    assert r.body == (root / "app.js").read_bytes() and r.header("content-encoding") is None
    assert r.header("vary") == "Accept-Encoding"
    r = get("/static/app.js", "-H", "Accept-Encoding:")
    assert r.body == (root / "app.js").read_bytes() and r.header("content-encoding") is None
    # A real client decodes the gzip variant to the original.
    r = curl(site["url"] + "/static/app.js", "--compressed", "-H", "Accept-Encoding: gzip", tmp=tmp_path)
    assert r.body == (root / "app.js").read_bytes()
    # No variant on disk: no Vary.
    assert get("/static/hello.txt", "-H", "Accept-Encoding: gzip, br").header("vary") is None


# ------------------------------------------------------------------ what may not be reached

TRAVERSALS = [
    "/static/../secret.txt",
    "/static/../../etc/passwd",
    "/static/%2e%2e/secret.txt",
    "/static/%2E%2E/secret.txt",
    "/static/..%2fsecret.txt",
    "/static/sub%2f..%2f..%2fsecret.txt",
    "/static/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/static/hello.txt%00.png",
    "/static/..%5csecret.txt",
    "/static/sub/%2e%2e/%2e%2e/secret.txt",
    "/static/escape.txt",
    "/static/rel-escape.txt",
    "/static/.env",
    "/static/sub/../.env",
    "/static/%2eenv",
    "/static/%zz",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_traversal_attempts_are_refused(site, get, path):
    r = get(path)
    assert r.status in (400, 404), (path, r)
    assert b"SECRET" not in r.body and b"root:" not in r.body
    # Nothing of it went to the app either (checked by the autouse fixture).


def test_raw_backslash_and_nul_targets(site):
    for target in (b"/static/..\\secret.txt", b"/static/hello.txt\x00"):
        with hhttp.Conn(site["srv"].port, timeout=10) as c:
            c.send(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = c.read_until_close()
        assert re.match(rb"HTTP/1.1 4\d\d ", data), data
        assert b"SECRET" not in data


def test_dotfiles_served_where_allowed(site, get):
    r = get("/dots/.env")
    assert r.status == 200 and r.body == b"SECRET=dotfile\n"
    assert get("/dots/escape.txt").status == 404  # the symlink still leaves the root
    assert get("/static/sub/up.txt").body == b"hello, static world\n"  # a link inside the root is fine


# ------------------------------------------------------------------ directories, fallthrough, --static

def test_index_and_directory_redirect(site, get):
    r = get("/static/sub/")
    assert r.status == 200 and r.body == b"<h1>sub index</h1>\n"
    assert r.header("content-type") == "text/html; charset=utf-8"
    r = get("/static/sub?x=1")
    assert r.status == 301 and r.header("location") == "/static/sub/?x=1"
    assert get("/static/").status == 404  # no index.html at the root, and no listing


def test_fallthrough_sends_missing_files_to_the_app(site, get):
    r = get("/ft/there.txt")
    assert r.status == 200 and r.body == b"static in a fallthrough mount\n"
    r = get("/ft/not-a-file?q=1")
    assert r.status == 200 and r.body == b"recorded /ft/not-a-file\n"
    assert [e["path"] for e in recorded(site)].count("/ft/there.txt") == 0
    assert "/ft/not-a-file" in [e["path"] for e in recorded(site)]
    # Without fallthrough a missing file is a 404 from hearthd.
    assert get("/static/not-a-file").status == 404


def test_cli_static_flag_adds_a_mount(site, get):
    r = get("/cli/via-cli.txt")
    assert r.status == 200 and r.body == b"mounted by --static\n"
    assert get("/cli/hello.txt").status == 404


# ------------------------------------------------------------------ a big file, every transport

def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_big_file_over_http1_and_h2c_with_bounded_memory(site, tmp_path):
    want = _sha(site["root"] / "big.bin")
    srv = site["srv"]
    before = vm_hwm_kib(srv.pid)
    for args in ([], ["--http2-prior-knowledge"], ["--http1.0"]):
        r = curl(site["url"] + "/static/big.bin", *args, tmp=tmp_path)
        assert r.status == 200 and len(r.body) == BIG, args
        assert hashlib.sha256(r.body).hexdigest() == want, args
    # nghttp with a small window: flow control paces the file.
    nghttp = shutil.which("nghttp")
    if nghttp:
        out = tmp_path / "nghttp.bin"
        with open(out, "wb") as f:
            p = subprocess.run([nghttp, "-w", "16", "-W", "16", site["url"] + "/static/big.bin"], stdout=f,
                               stderr=subprocess.PIPE, timeout=120)
        assert p.returncode == 0, p.stderr.decode()
        assert _sha(out) == want
    check_peak_rss(srv.pid, before, f"a {BIG >> 20} MiB file over HTTP/1.x and h2c")


def test_slow_reader_gets_the_whole_big_file(site, tmp_path):
    """sendfile with backpressure: a reader that stalls for a while still gets every byte."""
    want = hashlib.sha256((site["root"] / "big.bin").read_bytes()).digest()
    with socket.create_connection(("127.0.0.1", site["srv"].port), timeout=30) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        s.sendall(b"GET /static/big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += s.recv(4096)
        head, _, body = buf.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        time.sleep(0.5)  # the socket buffers fill; hearthd must wait for writability
        h = hashlib.sha256(body)
        got = len(body)
        while got < BIG:
            chunk = s.recv(1 << 20)
            assert chunk, f"connection closed after {got} bytes"
            h.update(chunk)
            got += len(chunk)
        assert got == BIG and h.digest() == want
        # The connection is still usable (keep-alive) after a sendfile response.
        s.sendall(b"GET /static/hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        rest = hhttp.recv_until_close(s)
        assert rest.startswith(b"HTTP/1.1 200") and rest.endswith(b"hello, static world\n")


def test_big_file_over_tls_h1_and_h2(hearthd, tmp_path, pki):
    from test_tls import start_tls
    base = tmp_path / "tree"
    base.mkdir()
    root, _ = make_tree(base)
    want = _sha(root / "big.bin")
    srv, url = start_tls(hearthd, tmp_path, pki, toml=site_toml(root, via=False))
    before = vm_hwm_kib(srv.pid)
    for args in (["--http1.1"], ["--http2"]):
        r = curl(url + "/static/big.bin", "--cacert", pki["ca"], *args, tmp=tmp_path)
        assert r.status == 200 and len(r.body) == BIG, args
        assert hashlib.sha256(r.body).hexdigest() == want, args
    r = curl(url + "/static/hello.txt", "--cacert", pki["ca"], "-r", "0-4", tmp=tmp_path)
    assert r.status == 206 and r.body == b"hello"
    # A small settled file, answered from memory after its first request, over both.
    _settle(root / "style.css")
    for args in (["--http1.1"], ["--http2"], ["--http1.1"], ["--http2"]):
        r = curl(url + "/static/style.css", "--cacert", pki["ca"], *args, tmp=tmp_path)
        assert r.status == 200 and r.body == b"body { color: red }\n", args
    check_peak_rss(srv.pid, before, f"a {BIG >> 20} MiB file over TLS")


from test_tls import pki  # noqa: E402,F401  (the module-scoped certificate fixture)


# ------------------------------------------------------------------ never Python

def test_static_answers_while_the_only_worker_is_busy(hearthd, tmp_path):
    root, _ = make_tree(tmp_path)
    srv = hearthd("basic:app", "--static", f"/static/={root}", workers=1)
    started, release = tmp_path / "started", tmp_path / "release"
    result = {}

    def blocker():
        result["status"] = http_status(f"{srv.url}/block?started={started}&release={release}&max=20", timeout=30)

    t = threading.Thread(target=blocker)
    t.start()
    try:
        poll(started.exists, 10, what="the worker to be busy")
        t0 = time.monotonic()
        r = curl(srv.url + "/static/hello.txt", tmp=tmp_path)
        elapsed = time.monotonic() - t0
        assert r.status == 200 and r.body == b"hello, static world\n"
        assert elapsed < 2.0, elapsed
        assert "status" not in result  # the app request is still blocked
        # http.via is off by default.
        assert r.header("via") is None
    finally:
        release.touch()
        t.join(30)
    assert result.get("status") == 200


# ------------------------------------------------------------------ Via, metrics, access log

def test_via_on_proxied_responses_only(site, get):
    r = get("/app/thing")
    assert r.status == 200 and r.body == b"recorded /app/thing\n"
    assert r.header("via") == "1.1 hearth"
    r = get("/app/thing", "--http2-prior-knowledge")
    assert r.header("via") == "1.1 hearth"
    assert get("/static/hello.txt").header("via") is None


def test_metrics_and_access_log_count_static_and_h2_requests(site, get):
    srv = site["srv"]
    before = scrape(srv)
    assert get("/static/hello.txt?metrics-1").status == 200
    assert get("/static/hello.txt?metrics-2", "--http2-prior-knowledge").status == 200
    assert get("/static/nothing-here").status == 404
    tag = etag_of(site["root"] / "hello.txt")
    assert get("/static/hello.txt?metrics-3", "-H", f"If-None-Match: {tag}").status == 304
    assert get("/app/h2-metrics", "--http2-prior-knowledge").status == 200
    after = scrape(srv)

    def delta(name, **labels):
        return (metric(after, name, **labels) or 0) - (metric(before, name, **labels) or 0)

    assert delta("hearth_static_requests_total", status="200") == 2
    assert delta("hearth_static_requests_total", status="404") == 1
    assert delta("hearth_static_requests_total", status="304") == 1
    assert delta("hearth_requests_total", method="GET", status="2xx") == 3  # 2 static + 1 app
    assert delta("hearth_requests_total", method="GET", status="4xx") == 1
    assert delta("hearth_requests_total", method="GET", status="3xx") == 1

    def entries():
        text = site["access"].read_text() if site["access"].exists() else ""
        return [json.loads(l) for l in text.splitlines()]

    def find(target):
        return [e for e in entries() if e["target"] == target]

    poll(lambda: find("/app/h2-metrics"), 5, what="the h2 app request in the access log")
    (one,) = find("/static/hello.txt?metrics-1")
    assert one["status"] == 200 and one["protocol"] == "HTTP/1.1"
    assert one["bytes"] == len(b"hello, static world\n")
    (two,) = find("/static/hello.txt?metrics-2")
    assert two["protocol"] == "HTTP/2.0" and two["status"] == 200
    (app_h2,) = find("/app/h2-metrics")
    assert app_h2["protocol"] == "HTTP/2.0"
    assert find("/static/nothing-here")[0]["status"] == 404


# ------------------------------------------------------------------ config errors

def _run(args, cwd, timeout=20):
    return subprocess.run([str(HEARTHD), *[str(a) for a in args]], capture_output=True, text=True, timeout=timeout,
                          cwd=cwd)


def test_missing_dir_is_a_config_error_exit_2(tmp_path):
    missing = tmp_path / "nope"
    cfg = tmp_path / "h.toml"
    cfg.write_text(f'app = "basic:app"\n[[static]]\nprefix = "/static/"\ndir = "{missing}"\n')
    for extra in (["--check-config"], ["-b", "127.0.0.1:0", "--python", "/usr/bin/python3"]):
        r = _run(["-c", cfg, *extra], tmp_path)
        assert r.returncode == 2, (extra, r.stderr)
        assert f"static[0].dir: cannot use '{missing}': No such file or directory" in r.stderr
    r = _run(["basic:app", "--static", f"/s={missing}", "--check-config"], tmp_path)
    assert r.returncode == 2 and "--static: static[0].dir: cannot use" in r.stderr
    r = _run(["basic:app", "--static", "nodir", "--check-config"], tmp_path)
    assert r.returncode == 2 and "--static: expected PREFIX=DIR" in r.stderr


def test_bad_entries_are_config_errors(tmp_path):
    (tmp_path / "pub").mkdir()
    cfg = tmp_path / "h.toml"
    cfg.write_text('app = "basic:app"\n[[static]]\nprefix = "static"\ndir = "pub"\n'
                   '[[static]]\nprefix = "/x/"\ndir = "pub"\nfalltrough = true\n')
    r = _run(["-c", cfg, "--check-config"], tmp_path)
    assert r.returncode == 2
    assert "unknown key 'static[1].falltrough' (did you mean 'fallthrough'?)" in r.stderr
    cfg.write_text('app = "basic:app"\n[[static]]\nprefix = "static"\ndir = "pub"\n')
    r = _run(["-c", cfg, "--check-config"], tmp_path)
    assert r.returncode == 2 and "static[0].prefix: must start with '/', got 'static'" in r.stderr


def test_relative_dir_resolves_against_chdir_and_check_config_prints_it(tmp_path):
    (tmp_path / "app" / "pub").mkdir(parents=True)
    cfg = tmp_path / "h.toml"
    cfg.write_text('app = "basic:app"\n[[static]]\nprefix = "/static/"\ndir = "pub"\n')
    r = _run(["-c", cfg, "--chdir", tmp_path / "app", "--check-config"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert '[[static]]\nprefix = "/static/"\ndir = "pub"\n' in r.stdout
    r = _run(["-c", cfg, "--check-config"], tmp_path)  # no chdir: relative to the cwd, where it is missing
    assert r.returncode == 2 and "static[0].dir: cannot use 'pub'" in r.stderr
