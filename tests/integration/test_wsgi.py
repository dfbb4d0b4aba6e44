"""PEP 3333 behaviour of the Python runtime behind the daemon: streamed bodies,
app exceptions, write(), wsgi.file_wrapper, exc_info, wsgi.input methods. Runs against
apps/basic.py raw and wrapped in wsgiref.validate (fixture `srv`)."""
import uuid

import hhttp
from conftest import APPS, poll
from hhttp import Conn, ConnectionClosed, request


def test_streamed_generator_response_is_complete_and_chunked(srv):
    with Conn(srv.port) as c:
        c.send(request("GET", "/stream?n=200&delay_ms=2"))
        r = c.read_response()
        assert r.status == 200
        assert r.chunked, f"a body without Content-Length must be chunked: {r.headers}"
        lines = r.body.decode().splitlines()
        assert len(lines) == 200
        assert lines[0].startswith("line 00000 ") and lines[-1].startswith("line 00199 ")
        # the connection survives a chunked response
        c.send(request("GET", "/"))
        assert c.read_response().body == b"Hello from basic\n"


def test_streamed_response_to_http10_ends_with_close(srv):
    with Conn(srv.port) as c:
        c.send(b"GET /stream?n=50 HTTP/1.0\r\n\r\n")
        r = c.read_response()
        assert r.status == 200
        assert not r.chunked, "HTTP/1.0 has no chunked encoding"
        assert len(r.body.decode().splitlines()) == 50


def test_app_exception_gives_500_without_traceback(srv):
    token = uuid.uuid4().hex[:12]
    before_workers = srv.worker_ready_lines()
    r = hhttp.get(srv.port, f"/raise?token={token}")
    assert r.status == 500
    assert b"Traceback" not in r.body
    assert token.encode() not in r.body
    assert b"boom-secret" not in r.body
    # the traceback goes to hearthd's log
    poll(lambda: f"boom-secret-{token}" in srv.log(), 5, what="traceback in the log")
    log = srv.log()
    assert "Traceback" in log[: log.index(f"boom-secret-{token}") + 100]
    # the worker keeps serving, and no worker was replaced
    for _ in range(4):
        assert hhttp.get(srv.port, "/").status == 200
    assert srv.worker_ready_lines() == before_workers


def test_app_exception_on_kept_alive_connection(srv):
    with Conn(srv.port) as c:
        c.send(request("GET", "/raise?token=ka"))
        assert c.read_response().status == 500
        c.send(request("GET", "/"))
        r = c.read_response()
        assert r.status == 200 and r.body == b"Hello from basic\n"


def test_exception_after_response_started_breaks_the_connection(srv):
    # The app yields a chunk, then raises: the daemon must not finish the response as
    # if it were complete (no terminating zero-length chunk).
    with Conn(srv.port, timeout=5) as c:
        c.send(request("GET", "/raise-late"))
        try:
            r = c.read_response()
        except ConnectionClosed:
            pass  # expected: response cut short
        else:
            # Acceptable only if nothing of the app's response had been sent yet and the
            # daemon answered a clean 5xx instead.
            assert r.status >= 500 and b"first part" not in r.body, \
                f"truncated response delivered as complete: {r} {r.body[:100]!r}"
    assert hhttp.get(srv.port, "/").status == 200


def test_write_callable(srv):
    r = hhttp.get(srv.port, "/write")
    assert r.status == 200
    assert r.body == b"written-returned"


def test_file_wrapper(srv):
    r = hhttp.get(srv.port, "/file")
    assert r.status == 200
    assert r.body == (APPS / "basic.py").read_bytes()


def test_start_response_with_exc_info_replaces_status(srv):
    r = hhttp.get(srv.port, "/excinfo")
    assert r.status == 503
    assert r.body == b"recovered\n"


def test_wsgi_input_readline_and_readlines(srv):
    body = b"first line\nsecond\nthird\nno newline at end"
    r = hhttp.fetch(srv.port, "POST", "/lines", body=body)
    assert r.status == 200
    assert r.json() == {"first": "first line\n",
                        "rest": ["second\n", "third\n", "no newline at end"]}


def test_wsgi_input_iteration_chunked(srv):
    body = b"a\nbb\nccc\n"
    with Conn(srv.port) as c:
        c.send(request("POST", "/iterlines", [("Transfer-Encoding", "chunked")])
               + hhttp.chunked(b"a\nb", b"b\ncc", b"c\n"))
        r = c.read_response()
    assert r.status == 200
    assert r.json() == {"lines": body.decode().splitlines(keepends=True)}


def test_unread_body_does_not_leak_into_next_request(srv):
    # "/" ignores the body; the next request on the connection must still parse.
    with Conn(srv.port) as c:
        c.send(request("POST", "/", body=b"GET /raise HTTP/1.1\r\n\r\n" * 100)
               + request("GET", "/environ"))
        assert c.read_response().status == 200
        r = c.read_response()
        assert r.status == 200 and r.json()["PATH_INFO"] == "/environ"


def test_request_id_in_traceback_log(srv, tmp_path):
    token = uuid.uuid4().hex[:12]
    rid_file = tmp_path / "rid"
    assert hhttp.get(srv.port, f"/raise?token={token}&rid_file={rid_file}").status == 500
    rid = rid_file.read_text()
    assert rid, "environ['hearth.request_id'] is empty"
    poll(lambda: f"boom-secret-{token}" in srv.log(), 5, what="traceback in the log")
    log = srv.log()
    end = log.index(f"boom-secret-{token}")
    window = log[max(0, end - 4000): log.find("\n", end) + 1 or len(log)]
    assert rid in window, f"request id {rid!r} not logged with the traceback:\n{window[-1500:]}"


def test_validator_violations_are_caught(hearthd):
    # The safety net itself: a violation in a hearthd worker must be visible to the tests.
    bad = hearthd("violating:app", workers=1)
    assert hhttp.get(bad.port, "/").status == 200
    assert not bad.violations()
    r = hhttp.get(bad.port, "/no-content-type")
    assert r.status == 500 and r.header("X-Validator") == "fail"
    try:
        hhttp.get(bad.port, "/str-body", timeout=5)
    except (ConnectionClosed, OSError):
        pass
    poll(lambda: bad.violations(), 5, what="the validator marker in hearthd's log")
