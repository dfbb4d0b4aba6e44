"""The test apps themselves, without hearthd: each endpoint is called in-process
through wsgi_strict (wsgiref.validate, warnings as errors) with an environ shaped
like the one Hearth builds. If these fail, the apps are wrong, not the daemon."""
import gc
import io
import json
import sys
import warnings
import wsgiref.util
from wsgiref.validate import WSGIWarning

import pytest

from conftest import APPS

sys.path.insert(0, str(APPS))


def call(app, method, path, body=b"", query="", headers=(), input_terminated=True):
    env = {
        "REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": path,
        "QUERY_STRING": query, "CONTENT_LENGTH": str(len(body)) if body else "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "40000", "SERVER_SOFTWARE": "hearth/0",
        "RAW_URI": path, "REQUEST_URI": path, "HTTP_HOST": "127.0.0.1:8000",
        "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr, "wsgi.multithread": False, "wsgi.multiprocess": True,
        "wsgi.run_once": False, "wsgi.file_wrapper": wsgiref.util.FileWrapper,
        "hearth.request_id": "selfcheck",
    }
    if input_terminated:
        env["wsgi.input_terminated"] = True
    for k, v in headers:
        key = k.upper().replace("-", "_")
        env[key if key in ("CONTENT_TYPE",) else "HTTP_" + key] = v
    got = {}
    written = []

    def start_response(status, hdrs, exc_info=None):
        if exc_info and got.get("sent"):
            raise exc_info[1].with_traceback(exc_info[2])
        got["status"], got["headers"] = status, hdrs
        return written.append

    with warnings.catch_warnings():
        warnings.simplefilter("error", WSGIWarning)
        result = app(env, start_response)
        try:
            for chunk in result:
                got["sent"] = True
                written.append(chunk)
        finally:
            if hasattr(result, "close"):
                result.close()
        del result
        gc.collect()
    return int(got["status"][:3]), dict(got["headers"]), b"".join(written)


@pytest.fixture
def strict_app(capsys):
    def wrap(module):
        mod = __import__(module)
        return mod.app
    yield wrap
    err = capsys.readouterr().err
    assert "WSGI-VALIDATOR-VIOLATION" not in err, err
    assert "garbage collected without being closed" not in err, err


def test_basic_endpoints(strict_app, tmp_path):
    app = strict_app("validated_basic")
    assert call(app, "GET", "/")[2] == b"Hello from basic\n"
    st, _, body = call(app, "GET", "/environ", query="a=1")
    assert st == 200 and json.loads(body)["QUERY_STRING"] == "a=1"
    st, h, body = call(app, "POST", "/echo", body=b"abc")
    assert (st, body, h["X-Content-Length"]) == (200, b"abc", "3")
    assert json.loads(call(app, "POST", "/echo-info", body=b"abc")[2])["length"] == 3
    assert json.loads(call(app, "POST", "/lines", body=b"a\nb\nc")[2]) == {
        "first": "a\n", "rest": ["b\n", "c"]}
    assert json.loads(call(app, "POST", "/iterlines", body=b"a\nb")[2]) == {
        "lines": ["a\n", "b"]}
    assert call(app, "GET", "/sleep", query="ms=1")[0] == 200
    started, release = tmp_path / "s", tmp_path / "r"
    release.touch()
    assert call(app, "GET", "/block", query=f"started={started}&release={release}")[2] \
        == b"released\n"
    d = tmp_path / "d"
    d.mkdir()
    assert json.loads(call(app, "GET", "/barrier", query=f"dir={d}&n=1")[2])["ok"] is True
    assert len(call(app, "GET", "/stream", query="n=7")[2].splitlines()) == 7
    assert call(app, "GET", "/write")[2] == b"written-returned"
    assert call(app, "GET", "/file")[2] == (APPS / "basic.py").read_bytes()
    assert call(app, "GET", "/excinfo")[:3:2] == (503, b"recovered\n")
    assert call(app, "GET", "/missing")[0] == 404
    with pytest.raises(RuntimeError, match="boom-secret-t"):
        call(app, "GET", "/raise", query="token=t")
    with pytest.raises(RuntimeError, match="boom-late"):
        call(app, "GET", "/raise-late")


def test_strict_wrapper_catches_violations(capsys):
    from wsgi_strict import strict

    def bad(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("Bad-", "x")])
        return [b"x"]

    st, h, body = call(strict(bad), "GET", "/")
    assert st == 500 and h["X-Validator"] == "fail"
    assert "WSGI-VALIDATOR-VIOLATION" in capsys.readouterr().err

    def wrong_method_read(environ, start_response):
        environ["wsgi.input"].read()  # no size: not PEP 3333
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"x"]

    st, _, _ = call(strict(wrong_method_read), "POST", "/", body=b"abc")
    assert st == 500
    capsys.readouterr()


def test_flask_endpoints(strict_app):
    app = strict_app("validated_flask")
    assert call(app, "GET", "/")[2] == b"Hello from Flask\n"
    assert json.loads(call(app, "GET", "/json", query="n=1")[2])["args"] == {"n": "1"}
    st, _, body = call(app, "POST", "/echo", body=b"a=1",
                       headers=[("Content-Type", "application/x-www-form-urlencoded")])
    assert (st, json.loads(body)) == (200, {"form": {"a": "1"}, "length": 3})
    st, _, body = call(app, "POST", "/echo", body=b'{"k": 1}',
                       headers=[("Content-Type", "application/json")])
    assert (st, json.loads(body)) == (200, {"received": {"k": 1}})
    assert call(app, "GET", "/missing")[0] == 404


def test_django_endpoints(strict_app):
    app = strict_app("validated_django")
    assert call(app, "GET", "/")[2] == b"Hello from Django\n"
    assert json.loads(call(app, "GET", "/json/", query="q=x")[2])["args"] == {"q": "x"}
    st, _, body = call(app, "POST", "/echo/", body=b"a=1",
                       headers=[("Content-Type", "application/x-www-form-urlencoded")])
    assert (st, json.loads(body)) == (200, {"form": {"a": "1"}, "length": 3})
    assert call(app, "GET", "/missing/")[0] == 404
    assert call(app, "GET", "/json")[0] == 301


def test_example_hello_app(strict_app):
    sys.path.insert(0, str(APPS.parents[2] / "examples" / "hello"))
    from wsgi_strict import strict
    import app as hello
    assert call(strict(hello.app), "GET", "/")[2].startswith(b"Hello from Hearth!\n")
