"""REQUEST/RESPONSE round trips through a real zygote + worker, raw and validator-wrapped."""

import hashlib
import os

import pytest

from fakedaemon import P


def test_zygote_ready_and_fork(daemon, worker):
    ready = daemon.ready.json()
    assert ready["pid"] == daemon.proc.pid
    assert ready["preload"] is True
    assert ready["threads_after_import"] == 1
    assert ready["python"].count(".") == 2
    assert isinstance(ready["import_ms"], int)
    info = worker.ready.json()
    assert info["pid"] == worker.pid != daemon.proc.pid
    assert info["worker_id"] == 1
    assert isinstance(info["boot_ms"], int) and info["boot_ms"] >= 0
    # Double fork: the worker's parent is us (the subreaper), not the zygote.
    with open("/proc/%d/stat" % worker.pid) as f:
        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
    assert ppid == os.getpid()


def test_hello_many_times(worker):
    for _ in range(20):
        r = worker.request("/hello")
        assert r.status == "200 OK"
        assert r.body == b"hello world"
        assert not r.aborted
    # The common case goes out as one START, one BODY, one END.
    assert [f.type for f in r.frames] == [P.RESPONSE_START, P.RESPONSE_BODY, P.RESPONSE_END]


def test_environ(worker, mode):
    r = worker.request("/env", query="a=1&b=%20", scheme="https",
                       headers=[("HTTP_X_THING", "v\xe9")], request_id="req-42")
    env = r.json()
    assert env["REQUEST_METHOD"] == "GET"
    assert env["PATH_INFO"] == "/env"
    assert env["QUERY_STRING"] == "a=1&b=%20"
    assert env["wsgi.url_scheme"] == "https"
    assert env["hearth.request_id"] == "req-42"
    assert env["HTTP_X_THING"] == "v\xe9"
    assert env["version"] == [1, 0]
    assert env["multithread"] is False
    assert env["multiprocess"] is True
    assert env["run_once"] is False
    assert env["input_terminated"] is True
    assert env["os.HEARTH_WORKER_ID"] == "1"
    assert env["pid"] == worker.pid
    assert "wsgi.file_wrapper" in env and "wsgi.errors" in env


def test_unknown_route_404(worker):
    r = worker.request("/nope")
    assert r.code == 404


BODY = b"line one\nline two\n\nlast line without newline"


def test_read_all(worker):
    r = worker.request("/read_all", method="POST", body=BODY)
    assert r.body == BODY + b"|"


@pytest.mark.parametrize("n", [1, 7, 4096, 1 << 20])
def test_read_n(worker, n):
    r = worker.request("/read_n", method="POST", body=BODY, query=str(n))
    got = r.json()
    assert sum(got["sizes"]) == len(BODY)
    assert all(s == n for s in got["sizes"][:-1])
    assert got["sha"] == hashlib.sha256(BODY).hexdigest()


def test_readline_readlines_iter(worker):
    expect = [l.decode() for l in BODY.splitlines(keepends=True)]
    assert worker.request("/readline", method="POST", body=BODY).json() == expect
    assert worker.request("/readlines", method="POST", body=BODY).json() == expect
    assert worker.request("/iter", method="POST", body=BODY).json() == expect


def test_readline_with_size(worker):
    lines = worker.request("/readline", method="POST", body=b"abcdefgh\nij\n", query="3").json()
    assert lines == ["abc", "def", "gh\n", "ij\n"]


def test_big_body_crosses_buffer(worker):
    body = os.urandom(3 * 1024 * 1024 + 17)
    r = worker.request("/read_n", method="POST", body=body, query="100000", timeout=20)
    assert r.json()["sha"] == hashlib.sha256(body).hexdigest()
    r = worker.request("/echo", method="POST", body=body, timeout=20)
    assert r.body == body
    lines = b"".join(b"%d\n" % i for i in range(200000))
    assert len(worker.request("/readlines", method="POST", body=lines, timeout=20).json()) == 200000


@pytest.mark.parametrize("size", [0, 10, 70000, 2 * 1024 * 1024])
def test_unread_body_is_drained(worker, size):
    body = b"B" * size
    r = worker.request("/partial", method="POST", body=body, timeout=20)
    assert r.body == body[:3]
    # The next frame must still be read at the right place.
    r = worker.request("/hello", method="POST", body=b"ignored body")
    assert r.body == b"hello world"
    assert worker.request("/echo", method="POST", body=b"second").body == b"second"


def test_list_and_tuple_bodies(worker):
    r = worker.request("/multi")
    assert r.body == b"abc" and not r.aborted
    r = worker.request("/tuple")  # Content-Length 4 cuts "tuple" to "tupl"
    assert r.body == b"tupl" and not r.aborted
    r = worker.request("/many")
    assert r.body == b"".join(b"%d," % i for i in range(50))


def test_streaming_generator(worker):
    r = worker.request("/stream")
    assert r.status == "200 OK"
    assert r.chunks == [b"a", b"bb", b"ccc"]  # empty chunk not framed


def test_start_response_inside_generator(worker):
    r = worker.request("/lazy_start")
    assert r.status == "201 Created"
    assert r.body == b"late"


def test_write_callable(worker):
    r = worker.request("/write")
    assert r.body == b"one,two,three"
    assert r.chunks == [b"one,", b"two,", b"three"]


def test_empty_bodies(worker):
    r = worker.request("/empty")
    assert r.status == "204 No Content" and r.body == b"" and not r.aborted
    assert [f.type for f in r.frames] == [P.RESPONSE_START, P.RESPONSE_END]
    r = worker.request("/empty_200")
    assert r.code == 200 and r.body == b"" and not r.aborted


def test_head_with_content_length_is_not_short(worker):
    r = worker.request("/head", method="HEAD")
    assert r.header("Content-Length") == "100"
    assert not r.aborted


def test_exc_info_before_headers_sent_replaces_status(worker):
    r = worker.request("/exc_info_before")
    assert r.status == "503 Service Unavailable"
    assert r.body == b"sorry"


def test_exc_info_after_headers_sent_aborts(daemon, worker):
    r = worker.request("/exc_info_after", request_id="late-exc")
    assert r.status == "200 OK"
    assert r.body == b"partial"
    assert r.aborted
    assert "too late" in daemon.wait_stderr("too late")
    assert worker.request("/hello").body == b"hello world"


def test_file_wrapper(worker):
    before = worker.request("/stats").json()["file_closed"]
    r = worker.request("/file_wrapper")
    assert r.body == b"0123456789" * 3
    assert worker.request("/stats").json()["file_closed"] == before + 1


def test_close_always_called(worker):
    before = worker.request("/stats").json()["closed"]
    assert worker.request("/closing").body == b"xy"
    r = worker.request("/closing", query="iter")
    assert r.aborted and r.body == b"x"
    assert worker.request("/stats").json()["closed"] == before + 2


def test_raise_before_start_is_500_and_worker_keeps_serving(daemon, worker):
    r = worker.request("/raise_before", request_id="rid-boom-1")
    assert r.status == "500 Internal Server Error"
    assert r.body == b"Internal Server Error\n"
    assert b"boom" not in r.body
    err = daemon.wait_stderr("boom-before-start")
    assert "[worker 1 req rid-boom-1]" in err
    assert "Traceback" in err and "boom-before-start" in err
    assert worker.request("/hello").body == b"hello world"


def test_raise_after_start_header_but_before_body_is_500(worker):
    r = worker.request("/raise_before_body")
    assert r.code == 500 and not r.aborted


def test_raise_after_body_started_aborts(daemon, worker):
    r = worker.request("/raise_after", request_id="rid-after")
    assert r.status == "200 OK"
    assert r.body == b"first"
    assert r.aborted
    assert "[worker 1 req rid-after]" in daemon.wait_stderr("boom-after-start")
    assert worker.request("/hello").body == b"hello world"


@pytest.mark.parametrize("kind", ["status_int", "status_short", "headers_tuple", "header_value_int",
                                  "header_newline", "header_nul", "header_not_latin1", "body_str",
                                  "no_start"])
def test_bad_responses_are_app_errors(worker, kind):
    r = worker.request("/bad", query=kind)
    assert r.code == 500, r
    assert r.body == b"Internal Server Error\n"
    assert worker.request("/hello").body == b"hello world"


def test_content_length_caps_body(worker):
    r = worker.request("/cl_over")
    assert r.body == b"01234" and not r.aborted
    r = worker.request("/cl_over_stream")
    assert r.body == b"01234" and not r.aborted


def test_short_body_is_aborted(worker):
    r = worker.request("/cl_short")
    assert r.body == b"01234"
    assert r.aborted
    assert worker.request("/hello").body == b"hello world"


def test_wsgi_errors_prefixed(daemon, worker):
    worker.request("/errors", request_id="rid-err")
    err = daemon.wait_stderr("line two")
    assert "[worker 1 req rid-err] hello from the app\n" in err
    assert "[worker 1 req rid-err] partial line two\n" in err


def test_big_responses(worker):
    r = worker.request("/big", query=str(1 << 20))
    assert len(r.body) == 1 << 20 and r.body[:3] == b"\x00\x01\x02"
    r = worker.request("/big_stream")
    assert r.body == b"z" * (1200 * 1024)


def test_environ_larger_than_buffer(worker):
    huge = "x" * (200 * 1024)
    r = worker.request("/env", headers=[("HTTP_X_HUGE", huge)])
    assert r.json()["HTTP_X_HUGE"] == huge
    assert worker.request("/hello").body == b"hello world"
