"""The ASGI runtime: interface detection, the scope, the http cycle and lifespan
(hearth_worker/asgi.py, asgi_worker.py), against real zygotes and workers."""

import functools
import json
import signal
import time

import pytest

import fakedaemon
from hearth_worker import asgi
from hearth_worker import protocol as P


# -- pure pieces --------------------------------------------------------------------------

async def _coro_app(scope, receive, send):
    pass


class _AsyncCallable:
    async def __call__(self, scope, receive, send):
        pass


class _SyncCallable:
    def __call__(self, environ, start_response):
        return []


def _wsgi(environ, start_response):
    return []


def test_is_asgi_detects_coroutine_functions_and_async_call():
    assert asgi.is_asgi(_coro_app)
    assert asgi.is_asgi(_AsyncCallable())
    assert asgi.is_asgi(functools.partial(_coro_app))
    assert not asgi.is_asgi(_wsgi)
    assert not asgi.is_asgi(_SyncCallable())
    assert not asgi.is_asgi(_AsyncCallable)  # the class itself: calling it makes an instance


def test_resolve_interface():
    assert asgi.resolve_interface("wsgi", _coro_app) == "wsgi"
    assert asgi.resolve_interface("asgi", _wsgi) == "asgi"
    assert asgi.resolve_interface("auto", _coro_app) == "asgi"
    assert asgi.resolve_interface("auto", _wsgi) == "wsgi"
    assert asgi.resolve_interface("auto", None) == "auto"


def _env(**kw):
    env = {"REQUEST_METHOD": "POST", "SCRIPT_NAME": "", "PATH_INFO": "/caf\xc3\xa9 x",
           "QUERY_STRING": "a=1&b=%20", "RAW_URI": "/caf%C3%A9%20x?a=1&b=%20",
           "SERVER_NAME": "example.org", "SERVER_PORT": "8443", "SERVER_PROTOCOL": "HTTP/2",
           "REMOTE_ADDR": "10.0.0.7", "REMOTE_PORT": "51000", "wsgi.url_scheme": "https",
           "HTTP_HOST": "example.org", "HTTP_X_CUSTOM_THING": "v\xe9", "CONTENT_TYPE": "text/plain",
           "CONTENT_LENGTH": "5", "hearth.request_id": "r9"}
    env.update(kw)
    return env


def test_build_scope_from_environ():
    s = asgi.build_scope(_env())
    assert s["type"] == "http"
    assert s["asgi"] == {"version": "3.0", "spec_version": "2.3"}
    assert s["http_version"] == "2"
    assert s["method"] == "POST"
    assert s["scheme"] == "https"
    assert s["path"] == "/café x"
    assert s["raw_path"] == b"/caf%C3%A9%20x"
    assert s["query_string"] == b"a=1&b=%20"
    assert s["root_path"] == ""
    assert s["client"] == ("10.0.0.7", 51000)
    assert s["server"] == ("example.org", 8443)
    headers = dict(s["headers"])
    assert headers[b"host"] == b"example.org"
    assert headers[b"x-custom-thing"] == b"v\xe9"
    assert headers[b"content-type"] == b"text/plain"
    assert headers[b"content-length"] == b"5"
    assert all(k == k.lower() and type(k) is bytes and type(v) is bytes for k, v in s["headers"])
    assert "state" not in s


def test_build_scope_versions_root_path_and_state():
    assert asgi.build_scope(_env(SERVER_PROTOCOL="HTTP/1.1"))["http_version"] == "1.1"
    assert asgi.build_scope(_env(SERVER_PROTOCOL="HTTP/1.0"))["http_version"] == "1.0"
    s = asgi.build_scope(_env(SCRIPT_NAME="/api", PATH_INFO="/items"), state={"db": 1})
    assert s["root_path"] == "/api"
    assert s["path"] == "/api/items"  # ASGI: path includes root_path
    assert s["state"] == {"db": 1}
    s = asgi.build_scope(_env(PATH_INFO="/bad\xff", REMOTE_ADDR="", CONTENT_LENGTH=""))
    assert s["path"] == "/bad\ufffd"
    assert s["client"] is None
    assert b"content-length" not in dict(s["headers"])


def test_encode_response_start():
    frame, code, cl = asgi.encode_response_start(
        {"type": "http.response.start", "status": 201,
         "headers": [(b"content-type", b"text/plain"), (b"content-length", b"3")]})
    assert code == 201 and cl == 3
    assert frame[16:] == b"201 Created\0content-type\0text/plain\0content-length\x003"
    frame, code, cl = asgi.encode_response_start({"status": 599, "headers": []})
    assert frame[16:] == b"599" and cl is None
    with pytest.raises(TypeError):
        asgi.encode_response_start({"status": "200", "headers": []})
    with pytest.raises(TypeError):
        asgi.encode_response_start({"status": 200, "headers": [("a", "b")]})
    with pytest.raises(ValueError):
        asgi.encode_response_start({"status": 200, "headers": [(b"x", b"a\r\nb")]})


# -- real zygote + worker -----------------------------------------------------------------

def _asgi_daemon(make_daemon, app="asgi_app:app", concurrency=4, interface="auto", lifespan="auto",
                 env=None, preload=True):
    d = make_daemon(app=app, preload=preload, env=env,
                    extra_args=["--interface", interface, "--concurrency", str(concurrency),
                                "--lifespan", lifespan])
    return d


def test_auto_detects_asgi_and_reports_concurrency_slots(make_daemon):
    d = _asgi_daemon(make_daemon, concurrency=5)
    info = d.start().json()
    assert info["interface"] == "asgi" and info["slots"] == 5
    w = d.fork(1)
    assert len(w.slots) == 5
    r = w.request("/scope", headers=[("HTTP_X_A", "b")])
    assert r.code == 200, (r, d.stderr())
    s = r.json()
    assert s["type"] == "http" and s["method"] == "GET" and s["path"] == "/scope"
    assert ["x-a", "b"] in s["headers"]
    assert s["started"] is True  # lifespan.startup ran before WORKER_READY


@pytest.mark.parametrize("no_uvloop", [False, True], ids=["uvloop-if-installed", "asyncio"])
def test_event_loop_is_uvloop_when_importable_else_asyncio(make_daemon, no_uvloop):
    d = _asgi_daemon(make_daemon, concurrency=2, env={"HEARTH_TEST_NO_UVLOOP": "1"} if no_uvloop else None)
    d.start()
    w = d.fork(1)
    loop = w.request("/scope").json()["loop"]
    if no_uvloop or not fakedaemon.python_has("uvloop"):
        assert loop.startswith("asyncio"), loop
    else:
        assert loop.startswith("uvloop"), loop
    # The cycle works on either loop.
    body = b"y" * 200000
    assert w.request("/echo", method="POST", body=body).body == body


def test_wsgi_interface_keeps_the_zygote_command_line_answer(make_daemon):
    d = make_daemon(app="asgi_app:wsgi_app")  # no --interface: the daemon's WSGI command line
    info = d.start().json()
    assert info["interface"] == "wsgi" and info["slots"] == 1


def test_auto_keeps_wsgi_for_a_wsgi_app(make_daemon):
    d = _asgi_daemon(make_daemon, app="asgi_app:wsgi_app", concurrency=5)
    info = d.start().json()
    assert info["interface"] == "wsgi" and info["slots"] == 1
    w = d.fork(1)
    assert w.request("/").body == b"wsgi\n"


def test_app_object_with_async_call(make_daemon):
    d = _asgi_daemon(make_daemon, app="asgi_app:app_object", concurrency=2)
    assert d.start().json()["interface"] == "asgi"
    w = d.fork(1)
    assert w.request("/scope").code == 200


def test_request_body_in_chunks_and_disconnect(make_daemon):
    d = _asgi_daemon(make_daemon, concurrency=2)
    d.start()
    w = d.fork(1)
    body = bytes(range(256)) * 1024  # 256 KiB: several http.request events
    r = w.request("/echo", method="POST", body=body)
    assert r.code == 200 and r.body == body
    assert int(r.header("x-events")) >= 4
    r = w.request("/echo", method="POST", body=b"")
    assert r.body == b"" and r.header("x-events") == "1"
    r = w.request("/disconnect", method="POST", body=b"xyz")
    assert r.code == 200 and r.body == b"ok"
    # The slot still works after each (unread bodies are drained).
    assert w.request("/scope").code == 200


def test_unread_body_is_drained(make_daemon):
    d = _asgi_daemon(make_daemon, concurrency=1)
    d.start()
    w = d.fork(1)
    r = w.request("/scope", method="POST", body=b"x" * 300000)
    assert r.code == 200
    assert w.request("/scope").code == 200


def test_streamed_chunks_become_body_frames(make_daemon):
    d = _asgi_daemon(make_daemon, concurrency=1)
    d.start()
    w = d.fork(1)
    r = w.request("/stream")
    assert r.code == 200 and r.body == b"chunk0\nchunk1\nchunk2\n" and len(r.chunks) == 3
    assert not r.aborted


def test_app_errors(make_daemon):
    d = _asgi_daemon(make_daemon, concurrency=1)
    d.start()
    w = d.fork(1)
    r = w.request("/boom", request_id="boom-1")
    assert r.code == 500 and r.body == b"Internal Server Error\n"
    text = d.wait_stderr("boom before the response")
    assert "req boom-1" in text and "Traceback" in text
    r = w.request("/boom-after")
    assert r.code == 200 and r.body == b"partial" and r.aborted
    r = w.request("/no-response")
    assert r.code == 500
    r = w.request("/short")
    assert r.aborted and r.body == b"abc"
    assert w.request("/scope").code == 200


def test_concurrent_requests_share_one_loop(make_daemon):
    d = _asgi_daemon(make_daemon, concurrency=20)
    d.start()
    w = d.fork(1)
    t0 = time.monotonic()
    for i in range(20):
        w.send_request("/sleep", query="0.3", slot=i)
    bodies = [w.read_response(slot=i, timeout=10).body for i in range(20)]
    elapsed = time.monotonic() - t0
    assert all(b.startswith(b"slept") for b in bodies)
    # Serially it would take 20 x 0.3 = 6 s; concurrently about 0.3 s. 2 s leaves room for
    # a loaded machine and still fails if the slots were served one after another.
    assert elapsed < 2.0, elapsed


def test_lifespan_startup_failure_is_a_boot_failure(make_daemon):
    d = _asgi_daemon(make_daemon, env={"HEARTH_TEST_LIFESPAN": "fail"}, concurrency=2)
    d.start()
    w = d.fork(1, expect_ready=False)
    f = fakedaemon.read_frame(w.slots[0])
    assert f.type == P.WORKER_FAILED
    assert b"database unreachable (test)" in f.payload
    assert w.wait_exit() == 3


def test_lifespan_auto_tolerates_an_app_without_it(make_daemon):
    d = _asgi_daemon(make_daemon, env={"HEARTH_TEST_LIFESPAN": "raise"}, concurrency=2)
    d.start()
    w = d.fork(1)
    s = w.request("/scope").json()
    assert s["started"] is False
    assert "lifespan not supported" in d.wait_stderr("lifespan not supported")


def test_lifespan_on_requires_it(make_daemon):
    d = _asgi_daemon(make_daemon, env={"HEARTH_TEST_LIFESPAN": "raise"}, concurrency=2, lifespan="on")
    d.start()
    w = d.fork(1, expect_ready=False)
    f = fakedaemon.read_frame(w.slots[0])
    assert f.type == P.WORKER_FAILED and b"this app has no lifespan" in f.payload
    assert w.wait_exit() == 3


def test_lifespan_off_skips_startup(make_daemon):
    d = _asgi_daemon(make_daemon, env={"HEARTH_TEST_LIFESPAN": "fail"}, concurrency=2, lifespan="off")
    d.start()
    w = d.fork(1)
    assert w.request("/scope").json()["started"] is False


def test_sigterm_runs_lifespan_shutdown_after_in_flight_requests(make_daemon, tmp_path):
    log = tmp_path / "lifespan.log"
    d = _asgi_daemon(make_daemon, env={"HEARTH_TEST_LIFESPAN_LOG": str(log)}, concurrency=3)
    d.start()
    w = d.fork(1)
    w.send_request("/sleep", query="0.3", slot=1)
    time.sleep(0.05)
    w.signal(signal.SIGTERM)
    r = w.read_response(slot=1)
    assert r.code == 200 and r.body.startswith(b"slept")
    assert w.wait_exit(5) == 0
    lines = log.read_text().split()
    assert lines == ["startup", str(w.pid), "shutdown", str(w.pid)]


def test_lazy_auto_serves_asgi_with_threads_slots(make_daemon):
    d = _asgi_daemon(make_daemon, preload=False, concurrency=5)
    info = d.start().json()
    assert info["interface"] == "auto" and info["slots"] == 1
    w = d.fork(1)
    assert w.request("/scope").code == 200
    assert "set interface" in d.wait_stderr("set interface")


def test_zygote_checks_fork_slot_count_against_concurrency(make_daemon):
    d = _asgi_daemon(make_daemon, concurrency=3)
    d.start()
    f = d.fork(1, nslots=1)
    assert f.type == P.FORK_FAILED and "--concurrency" in f.json()["error"]
