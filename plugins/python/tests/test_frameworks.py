"""Real frameworks through the runtime: Flask and Django (skipped if not installed)."""


import pytest

import fakedaemon

FORM = b"a=1&b=two"
FORM_HEADERS = [("CONTENT_TYPE", "application/x-www-form-urlencoded"), ("HTTP_HOST", "localhost")]


@pytest.mark.parametrize("preload", [True, False])
def test_flask(make_daemon, mode, preload):
    if not fakedaemon.python_has("flask"):
        pytest.skip("flask not installed for %s" % fakedaemon.PYTHON)
    d = make_daemon(app="flask_app:app", preload=preload, validate=(mode == "validated"))
    d.start()
    w = d.fork(3)
    r = w.request("/", headers=[("HTTP_HOST", "localhost")])
    assert r.code == 200 and r.body == b"flask ok"
    r = w.request("/echo", method="POST", body=FORM, headers=FORM_HEADERS)
    assert r.json() == {"len": len(FORM), "form": {"a": "1", "b": "two"}, "worker": "3"}
    assert w.request("/stream").body == b"part0;part1;part2;"
    r = w.request("/file")
    assert r.body == b"F" * 100000
    r = w.request("/boom", request_id="flask-rid")
    assert r.code == 500
    assert w.request("/").body == b"flask ok"
    assert "WSGIWarning" not in d.stderr() and "Exception ignored" not in d.stderr()


@pytest.mark.parametrize("preload", [True, False])
def test_django(make_daemon, mode, preload):
    if not fakedaemon.python_has("django"):
        pytest.skip("django not installed for %s" % fakedaemon.PYTHON)
    d = make_daemon(app="django_app:application", preload=preload, validate=(mode == "validated"))
    d.start()
    w = d.fork(4)
    r = w.request("/", headers=[("HTTP_HOST", "localhost")])
    assert r.code == 200 and r.body == b"django ok", r
    r = w.request("/echo", method="POST", body=FORM, headers=FORM_HEADERS)
    assert r.json() == {"len": len(FORM), "post": {"a": "1", "b": "two"}, "worker": "4"}
    assert w.request("/stream", headers=[("HTTP_HOST", "localhost")]).body == b"chunk0;chunk1;chunk2;"
    r = w.request("/file", headers=[("HTTP_HOST", "localhost")])
    assert r.body == b"D" * 100000
    # Every request also went through close() (Django's request_finished).
    assert w.request("/", headers=[("HTTP_HOST", "localhost")]).body == b"django ok"
    assert "WSGIWarning" not in d.stderr() and "Exception ignored" not in d.stderr()
