"""Limits and request smuggling defences of the front door: 431, 413, 408, and
400-and-close for ambiguous framing (RFC 9112 section 6). Each test then checks the
daemon still serves normal requests."""
import select
import time

import pytest

import hhttp
from hhttp import Conn, ConnectionClosed, request

LIMITS_TOML = """\
[http]
header_timeout = "300ms"
body_timeout = "300ms"
max_body_size = "64KiB"
max_header_size = "8KiB"
max_headers = 50
"""


@pytest.fixture(scope="module")
def limited(hearthd_module):
    return hearthd_module("basic:app", toml=LIMITS_TOML)


@pytest.fixture
def lim(limited):
    yield limited
    # whatever the test did, the daemon is alive and serving
    assert limited.proc.poll() is None, "hearthd died"
    r = hhttp.get(limited.port, "/")
    assert r.status == 200 and r.body == b"Hello from basic\n"


def _response_and_close(c, method="GET"):
    """Read one response; then assert the server closes the connection."""
    r = c.read_response(method)
    assert c.closed_by_peer(5), f"connection left open after {r.status}"
    return r


def _send_body_until_answered(c, total, piece=8192):
    """Send `total` body bytes, stopping early once the server has answered or closed."""
    sent = 0
    while sent < total:
        readable, _, _ = select.select([c.sock], [], [], 0)
        if readable:
            return
        try:
            c.sock.sendall(b"a" * min(piece, total - sent))
        except (BrokenPipeError, ConnectionResetError):
            return
        sent += piece


# --- size limits -----------------------------------------------------------------

def test_header_block_too_large_431(lim):
    with Conn(lim.port) as c:
        try:
            c.send(request("GET", "/", [("X-Big", "b" * 12000)]))
        except (BrokenPipeError, ConnectionResetError):
            pass
        r = c.read_response()
    assert r.status == 431


def test_too_many_header_fields_431(lim):
    with Conn(lim.port) as c:
        c.send(request("GET", "/", [(f"X-H{i}", "v") for i in range(80)]))
        r = c.read_response()
    assert r.status == 431


def test_headers_just_under_the_limit_are_fine(lim):
    r = hhttp.get(lim.port, "/environ", headers=[("X-Big", "b" * 6000)])
    assert r.status == 200
    assert r.json()["HTTP_X_BIG"] == "b" * 6000


def test_content_length_over_max_body_413(lim):
    total = 64 * 1024 + 1
    with Conn(lim.port) as c:
        c.send(request("POST", "/echo", [("Content-Length", str(total))]))
        _send_body_until_answered(c, total)
        r = c.read_response()
    assert r.status == 413


def test_chunked_body_over_max_body_413(lim):
    with Conn(lim.port) as c:
        c.send(request("POST", "/echo", [("Transfer-Encoding", "chunked")]))
        status = None
        try:
            for _ in range(20):  # 20 x 8 KiB = 160 KiB > 64 KiB
                if select.select([c.sock], [], [], 0)[0]:
                    break
                c.send(b"2000\r\n" + b"c" * 0x2000 + b"\r\n")
            c.send(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        status = c.read_response().status
    assert status == 413


def test_body_at_max_size_is_accepted(lim):
    body = b"z" * (64 * 1024)
    r = hhttp.fetch(lim.port, "POST", "/echo-info", body=body)
    assert r.status == 200
    assert r.json()["length"] == len(body)


# --- timeouts ----------------------------------------------------------------------

def test_slow_header_408_and_close(lim):
    with Conn(lim.port, timeout=5) as c:
        t0 = time.monotonic()
        c.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # head never finished
        r = _response_and_close(c)
        elapsed = time.monotonic() - t0
    assert r.status == 408
    # header_timeout is 300 ms; margin: 1 s for a loaded 2-core machine under ASan.
    assert 0.25 <= elapsed < 1.3, f"header_timeout is 300ms, got the 408 after {elapsed:.2f}s"


def test_slow_header_trickle_is_not_reset_by_progress(lim):
    # header_timeout covers the whole head, not the gap between bytes.
    with Conn(lim.port, timeout=5) as c:
        t0 = time.monotonic()
        head = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"s" * 40
        got = None
        try:
            for byte in head:
                c.send(bytes([byte]))
                if select.select([c.sock], [], [], 0.05)[0]:
                    break
        except (BrokenPipeError, ConnectionResetError):
            pass
        got = c.read_response()
        elapsed = time.monotonic() - t0
    assert got.status == 408
    assert elapsed < 1.5, f"a trickled head kept the connection for {elapsed:.2f}s"


def test_slow_body_408_and_close(lim):
    with Conn(lim.port, timeout=5) as c:
        t0 = time.monotonic()
        c.send(request("POST", "/echo", [("Content-Length", "100")]) + b"0123456789")
        r = c.read_response()
        elapsed = time.monotonic() - t0
        assert c.closed_by_peer(5), f"connection left open after {r.status}"
    assert r.status == 408
    # body_timeout is 300 ms; margin: 1 s for a loaded 2-core machine under ASan.
    assert 0.25 <= elapsed < 1.3, f"body_timeout is 300ms, got the 408 after {elapsed:.2f}s"


def test_idle_keepalive_connection_is_closed(hearthd):
    srv = hearthd("basic:app", workers=1, toml='[http]\nkeepalive_timeout = "300ms"\n')
    with Conn(srv.port, timeout=5) as c:
        c.send(request("GET", "/"))
        assert c.read_response().status == 200
        t0 = time.monotonic()
        assert c.closed_by_peer(4), "idle kept-alive connection not closed"
        assert time.monotonic() - t0 >= 0.2
        assert c.buf == b"", f"unexpected bytes on idle close: {c.buf!r}"


# --- framing / smuggling: 400 and close ----------------------------------------------

SMUGGLED = b"GET /environ HTTP/1.1\r\nHost: evil\r\n\r\n"


def _expect_400_and_close(port, raw):
    with Conn(port, timeout=5) as c:
        try:
            c.send(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass
        r = c.read_response()
        assert r.status == 400, (r.status, r.body[:200])
        assert c.closed_by_peer(5), "connection must be closed after a framing error"
        assert b"HTTP/1.1" not in c.buf, f"a smuggled request was answered: {c.buf[:300]!r}"
    return r


def test_content_length_with_transfer_encoding_400(lim):
    raw = (b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 6\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED)
    _expect_400_and_close(lim.port, raw)


def test_duplicate_differing_content_length_400(lim):
    raw = (b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n"
           b"Content-Length: 41\r\n\r\nhello" + SMUGGLED)
    _expect_400_and_close(lim.port, raw)


def test_content_length_list_with_differing_values_400(lim):
    raw = (b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5, 41\r\n\r\nhello"
           + SMUGGLED)
    _expect_400_and_close(lim.port, raw)


@pytest.mark.parametrize("te", [b"xchunked", b"chunked, gzip", b"gzip, chunked",
                                b"chunked, chunked", b"identity", b"chunked\x0b"])
def test_transfer_encoding_not_exactly_chunked_400(lim, te):
    raw = (b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: " + te
           + b"\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + SMUGGLED)
    _expect_400_and_close(lim.port, raw)


def test_two_transfer_encoding_fields_400(lim):
    raw = (b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + SMUGGLED)
    _expect_400_and_close(lim.port, raw)


def test_obs_fold_400(lim):
    raw = (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Folded: first\r\n  second\r\n\r\n"
           + SMUGGLED)
    _expect_400_and_close(lim.port, raw)


@pytest.mark.parametrize("size_line", [b"zz", b"-5", b"0x5", b"5 5",
                                       b"fffffffffffffffffffff", b""])
def test_bad_chunk_size_400(lim, size_line):
    raw = (b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
           + size_line + b"\r\nhello\r\n0\r\n\r\n" + SMUGGLED)
    _expect_400_and_close(lim.port, raw)


def test_chunk_data_longer_than_size_400(lim):
    raw = (b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"3\r\nhello\r\n0\r\n\r\n" + SMUGGLED)
    _expect_400_and_close(lim.port, raw)


def test_malformed_request_line_400(lim):
    _expect_400_and_close(lim.port, b"GET /\r\nHost: x\r\n\r\n")


def test_space_before_colon_400(lim):
    raw = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length : 5\r\n\r\nhello"
    _expect_400_and_close(lim.port, raw)


def test_missing_host_in_http11_400(lim):
    _expect_400_and_close(lim.port, b"GET / HTTP/1.1\r\nX-A: b\r\n\r\n")


def test_valid_request_after_framing_errors_still_served(lim):
    # Many bad connections in a row do not wedge the daemon.
    for _ in range(20):
        with Conn(lim.port, timeout=5) as c:
            c.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
            try:
                assert c.read_response().status == 400
            except ConnectionClosed:
                raise AssertionError("closed without a 400")
    assert hhttp.get(lim.port, "/").status == 200


def test_cli_overrides_config_file(hearthd):
    # file says 64 KiB, the command line says 1 KiB: CLI wins.
    srv = hearthd("basic:app", "--max-body-size", "1KiB", workers=1,
                  toml='[http]\nmax_body_size = "64KiB"\n')
    assert hhttp.fetch(srv.port, "POST", "/echo", body=b"x" * 1024).status == 200
    with Conn(srv.port) as c:
        c.send(request("POST", "/echo", [("Content-Length", "2048")]))
        _send_body_until_answered(c, 2048)
        assert c.read_response().status == 413


def test_expect_100_with_oversized_body_gets_413_not_100(lim):
    with Conn(lim.port, timeout=5) as c:
        c.send(request("POST", "/echo", [("Content-Length", str(200 * 1024)),
                                         ("Expect", "100-continue")]))
        _, status, _, _, _ = c.read_head()
    assert status == 413
