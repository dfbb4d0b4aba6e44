"""Front door basics on the real daemon: keep-alive, pipelining, request bodies,
HEAD, Expect: 100-continue, HTTP/1.0, large bodies. Runs against apps/basic.py, raw
and wrapped in wsgiref.validate (fixture `srv`)."""
import hashlib
import os
import re
import subprocess
import uuid

import hhttp
from conftest import poll
from hhttp import Conn, chunked, request


def test_get_with_curl(srv):
    out = subprocess.run(
        ["curl", "-sS", "--max-time", "10", "-D", "-", f"{srv.url}/"],
        capture_output=True, timeout=15)
    assert out.returncode == 0, out.stderr
    head, _, body = out.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    assert body == b"Hello from basic\n"


def test_environ_basics(srv):
    r = hhttp.get(srv.port, "/environ?x=1&y=%20z",
                  headers=[("Host", f"127.0.0.1:{srv.port}"), ("X-Custom", "abc")])
    assert r.status == 200
    env = r.json()
    assert env["REQUEST_METHOD"] == "GET"
    assert env["PATH_INFO"] == "/environ"
    assert env["SCRIPT_NAME"] == ""
    assert env["QUERY_STRING"] == "x=1&y=%20z"
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["SERVER_PORT"] == str(srv.port)
    assert env["HTTP_X_CUSTOM"] == "abc"
    assert env["SERVER_SOFTWARE"].startswith("hearth/"), env["SERVER_SOFTWARE"]
    assert env["wsgi.url_scheme"] == "http"
    assert env["wsgi.version"] == [1, 0]
    assert env["wsgi.run_once"] is False
    assert env["has_file_wrapper"] is True
    assert "HTTP_CONTENT_TYPE" not in env and "HTTP_CONTENT_LENGTH" not in env


def test_path_info_is_percent_decoded(srv):
    r = hhttp.get(srv.port, "/%65nviron?q=%2F")
    assert r.status == 200, "PATH_INFO must be percent-decoded (%65 = 'e')"
    env = r.json()
    assert env["PATH_INFO"] == "/environ"
    assert env["QUERY_STRING"] == "q=%2F"
    assert env["RAW_URI"] == "/%65nviron?q=%2F"


def test_worker_environment(srv):
    env = hhttp.get(srv.port, "/environ").json()
    assert env["os.HEARTH_WORKER_ID"] is not None and env["os.HEARTH_WORKER_ID"].isdigit()
    assert env["os.HEARTH_PRELOAD"] in ("1", "0")
    assert env["pid"] in srv.worker_pids().values(), (env["pid"], srv.worker_pids())


def test_keepalive_reuses_connection(srv):
    with Conn(srv.port) as c:
        ports = []
        for _ in range(3):
            c.send(request("GET", "/environ"))
            r = c.read_response()
            assert r.status == 200
            assert (r.header("Connection") or "").lower() != "close"
            ports.append(r.json()["REMOTE_PORT"])
        assert ports == [str(c.local_port())] * 3


def test_pipelined_requests_answered_in_order(srv):
    # The first request is slow: a daemon that answered out of order would put the
    # fast ones first.
    reqs = (request("GET", "/sleep?ms=300")
            + request("POST", "/echo", body=b"second")
            + request("GET", "/")
            + request("POST", "/echo", body=b"fourth"))
    with Conn(srv.port) as c:
        c.send(reqs)
        r1, r2, r3, r4 = (c.read_response() for _ in range(4))
    assert [r.status for r in (r1, r2, r3, r4)] == [200] * 4
    assert "pid" in r1.json()
    assert r2.body == b"second"
    assert r3.body == b"Hello from basic\n"
    assert r4.body == b"fourth"


def test_content_length_body(srv):
    body = os.urandom(5000)
    r = hhttp.fetch(srv.port, "POST", "/echo", body=body)
    assert r.status == 200
    assert r.body == body
    assert r.header("X-Content-Length") == "5000"


def test_chunked_request_body_reaches_app_with_content_length(srv):
    pieces = [b"hello ", b"chunked " * 100, os.urandom(3000), b"end"]
    whole = b"".join(pieces)
    with Conn(srv.port) as c:
        c.send(request("POST", "/echo-info", [("Transfer-Encoding", "chunked")])
               + chunked(*pieces))
        r = c.read_response()
    assert r.status == 200
    info = r.json()
    assert info["content_length"] == str(len(whole))
    assert info["length"] == len(whole)
    assert info["sha256"] == hashlib.sha256(whole).hexdigest()


def test_chunked_request_is_presented_as_content_length(srv):
    # As nginx does for its upstreams: the app sees a plain body of known length and
    # no Transfer-Encoding (werkzeug, for one, ignores CONTENT_LENGTH when it sees
    # HTTP_TRANSFER_ENCODING: chunked).
    with Conn(srv.port) as c:
        c.send(request("POST", "/environ", [("Transfer-Encoding", "chunked")])
               + chunked(b"abc", b"defg"))
        env = c.read_response().json()
    assert env["CONTENT_LENGTH"] == "7"
    assert "HTTP_TRANSFER_ENCODING" not in env, env.get("HTTP_TRANSFER_ENCODING")


def test_chunked_body_with_extensions_and_trailer(srv):
    raw = (b"5;name=value\r\nhello\r\n" b"6\r\n world\r\n" b"0\r\nX-Trailer: t\r\n\r\n")
    with Conn(srv.port) as c:
        c.send(request("POST", "/echo", [("Transfer-Encoding", "chunked")]) + raw)
        r = c.read_response()
    assert r.status == 200
    assert r.body == b"hello world"
    assert r.header("X-Content-Length") == "11"


def test_head_has_no_body(srv):
    with Conn(srv.port) as c:
        # The app writes a body for HEAD too; the daemon must drop it. If it leaked,
        # the following response would not parse.
        c.send(request("HEAD", "/") + request("GET", "/environ"))
        head = c.read_response("HEAD")
        assert head.status == 200
        get = c.read_response()
        assert get.status == 200, get
        assert get.json()["REQUEST_METHOD"] == "GET"
    # The client skips a HEAD body by itself, so look at the wire: after the head of a
    # HEAD answered with Connection: close, not one byte may follow.
    with Conn(srv.port) as c:
        c.send(request("HEAD", "/", headers=[("Connection", "close")]))
        _, status, _, headers, _ = c.read_head()
        assert status == 200
        assert c.read_until_close() == b"", "a body followed the HEAD response's head"


def test_expect_100_continue(srv):
    body = b"x" * 2048
    with Conn(srv.port, timeout=5) as c:
        c.send(request("POST", "/echo", [("Content-Length", str(len(body))),
                                         ("Expect", "100-continue")]))
        version, status, _, _, _ = c.read_head()  # must come before we send the body
        assert status == 100, status
        c.send(body)
        r = c.read_response()
    assert r.status == 200
    assert r.body == body


def test_http10_request_closes(srv):
    with Conn(srv.port) as c:
        c.send(b"GET /environ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        r = c.read_response()
        assert r.status == 200
        assert r.version in ("HTTP/1.0", "HTTP/1.1")
        assert r.json()["SERVER_PROTOCOL"] == "HTTP/1.0"
        assert c.closed_by_peer(5), "HTTP/1.0 without keep-alive must close the connection"


def test_http10_keepalive(srv):
    with Conn(srv.port) as c:
        for _ in range(2):
            c.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            r = c.read_response()
            assert r.status == 200
            assert r.body == b"Hello from basic\n"
            assert (r.header("Connection") or "").lower() == "keep-alive"


def test_connection_close_is_honoured(srv):
    with Conn(srv.port) as c:
        c.send(request("GET", "/", [("Connection", "close")]))
        r = c.read_response()
        assert r.status == 200
        assert c.closed_by_peer(5)


def test_large_post_echoed(srv, tmp_path):
    body = os.urandom(1024 * 1024)
    src = tmp_path / "body.bin"
    src.write_bytes(body)
    out = subprocess.run(
        ["curl", "-sS", "--max-time", "30", "-H", "Content-Type: application/octet-stream",
         "--data-binary", f"@{src}", f"{srv.url}/echo", "-o", str(tmp_path / "out.bin"),
         "-w", "%{http_code}"],
        capture_output=True, timeout=40)
    assert out.returncode == 0, out.stderr
    assert out.stdout == b"200"
    got = (tmp_path / "out.bin").read_bytes()
    assert len(got) == len(body)
    assert hashlib.sha256(got).digest() == hashlib.sha256(body).digest()


def test_large_chunked_post_echoed(srv):
    pieces = [os.urandom(100_000) for _ in range(11)]  # ~1.1 MB, spooled past 64 KiB
    whole = b"".join(pieces)
    with Conn(srv.port, timeout=30) as c:
        c.send(request("POST", "/echo-info", [("Transfer-Encoding", "chunked")])
               + chunked(*pieces))
        info = c.read_response().json()
    assert info == {"content_length": str(len(whole)), "length": len(whole),
                    "sha256": hashlib.sha256(whole).hexdigest()}


def test_unknown_path_404_then_connection_still_usable(srv):
    with Conn(srv.port) as c:
        c.send(request("GET", "/nope"))
        assert c.read_response().status == 404
        c.send(request("GET", "/"))
        assert c.read_response().status == 200


def test_server_header(srv):
    r = hhttp.get(srv.port, "/")
    assert (r.header("Server") or "").startswith("hearth"), r.headers
    assert r.header("Date"), "responses carry a Date header"


def test_admin_health_endpoints(srv):
    import urllib.request
    for path in ("/healthz", "/readyz"):
        with urllib.request.urlopen(srv.admin_url + path, timeout=5) as resp:
            assert resp.status == 200, path


def test_access_log_line(srv):
    marker = uuid.uuid4().hex[:10]
    assert hhttp.get(srv.port, f"/environ?m={marker}").status == 200
    line = re.compile(rf'"GET /environ\?m={marker} HTTP/1\.1" 200 \d+')
    poll(lambda: line.search(srv.stdout()), 5, what="the access log line on stdout")


def test_non_ascii_path_is_latin1_decoded(srv):
    # PEP 3333: PATH_INFO holds the percent-decoded bytes, decoded as latin-1.
    r = hhttp.get(srv.port, "/p/caf%C3%A9/a%20b?q=%C3%A9")
    assert r.status == 200
    assert r.json() == {"path": "/p/caf\u00c3\u00a9/a b"}
    env = hhttp.get(srv.port, "/environ?q=%C3%A9").json()
    assert env["QUERY_STRING"] == "q=%C3%A9"


def test_repeated_request_headers_are_joined(srv):
    with Conn(srv.port) as c:
        c.send(request("GET", "/environ", [("X-Multi", "a"), ("X-Multi", "b"),
                                           ("Cookie", "a=1"), ("Cookie", "b=2")]))
        env = c.read_response().json()
    assert env["HTTP_X_MULTI"] == "a, b"
    assert env["HTTP_COOKIE"] == "a=1; b=2"


def test_head_on_streamed_response(srv):
    with Conn(srv.port) as c:
        c.send(request("HEAD", "/stream?n=20") + request("GET", "/"))
        h = c.read_response("HEAD")
        g = c.read_response()
    assert h.status == 200
    assert g.status == 200 and g.body == b"Hello from basic\n"
    # On the wire: nothing after the HEAD response's head (the client would skip it).
    with Conn(srv.port) as c:
        c.send(request("HEAD", "/stream?n=20", headers=[("Connection", "close")]))
        assert c.read_head()[1] == 200
        assert c.read_until_close() == b"", "a streamed body followed the HEAD response's head"


def test_204_and_304_have_no_body(srv):
    with Conn(srv.port) as c:
        c.send(request("GET", "/status?code=204") + request("GET", "/status?code=304")
               + request("GET", "/"))
        r204, r304, ok = c.read_response(), c.read_response(), c.read_response()
    assert r204.status == 204 and r304.status == 304
    for r in (r204, r304):
        assert r.header("Transfer-Encoding") is None, r.headers
    assert ok.status == 200 and ok.body == b"Hello from basic\n"


def test_server_header_configurable(hearthd):
    custom = hearthd("basic:app", workers=1, toml='[http]\nserver_header = "edge-1"\n')
    none = hearthd("basic:app", workers=1, toml='[http]\nserver_header = ""\n')
    assert hhttp.get(custom.port, "/").header("Server") == "edge-1"
    assert hhttp.get(none.port, "/").header("Server") is None
