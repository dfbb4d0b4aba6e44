"""Real frameworks behind hearthd: Flask (python3-flask) and a minimal Django
project (python3-django), each also wrapped in wsgiref.validate."""
import json
import subprocess
import urllib.parse

import pytest

import hhttp
from hhttp import Conn, request


def _server(hearthd_module, app):
    return hearthd_module(app, workers=2)


def _check_clean(srv, mark):
    bad = srv.violations(mark)
    assert not bad, f"wsgiref.validate violations: {bad}"


@pytest.fixture(scope="module", params=["flask_app:app", "validated_flask:app"],
                ids=["raw", "validated"])
def flask_srv(request, hearthd_module):
    srv = _server(hearthd_module, request.param)
    yield srv
    _check_clean(srv, 0)


@pytest.fixture(scope="module", params=["djproj.wsgi:application", "validated_django:app"],
                ids=["raw", "validated"])
def django_srv(request, hearthd_module):
    srv = _server(hearthd_module, request.param)
    yield srv
    _check_clean(srv, 0)


def _curl(*args):
    out = subprocess.run(["curl", "-sS", "--max-time", "10", *args],
                         capture_output=True, timeout=15)
    assert out.returncode == 0, out.stderr
    return out.stdout


# --- Flask --------------------------------------------------------------------------

def test_flask_index(flask_srv):
    mark = len(flask_srv.log())
    assert _curl(f"{flask_srv.url}/") == b"Hello from Flask\n"
    _check_clean(flask_srv, mark)


def test_flask_json_and_query(flask_srv):
    data = json.loads(_curl(f"{flask_srv.url}/json?name=h%C3%A9arth&n=1"))
    assert data["framework"] == "flask"
    assert data["args"] == {"name": "héarth", "n": "1"}
    assert data["server_software"].startswith("hearth/")
    assert data["worker_id"].isdigit()
    assert data["remote_addr"] == "127.0.0.1"


def test_flask_form_post(flask_srv):
    data = json.loads(_curl("-d", "a=1&b=two+words", f"{flask_srv.url}/echo"))
    assert data == {"form": {"a": "1", "b": "two words"}, "length": 15}


def test_flask_json_post_chunked(flask_srv):
    payload = json.dumps({"k": list(range(100))}).encode()
    with Conn(flask_srv.port) as c:
        c.send(request("POST", "/echo", [("Content-Type", "application/json"),
                                         ("Transfer-Encoding", "chunked")])
               + hhttp.chunked(payload[:10], payload[10:]))
        r = c.read_response()
    assert r.status == 200, r.body[:500]
    assert r.json() == {"received": {"k": list(range(100))}}


def test_flask_404_and_405(flask_srv):
    assert hhttp.get(flask_srv.port, "/missing").status == 404
    assert hhttp.fetch(flask_srv.port, "DELETE", "/").status == 405


def test_flask_multiple_set_cookie(flask_srv):
    r = hhttp.get(flask_srv.port, "/cookie", headers=[("Cookie", "flavour=oat")])
    assert r.status == 200
    assert r.json() == {"seen": "oat"}
    cookies = sorted(v.split(";")[0] for v in r.headers_all("Set-Cookie"))
    assert cookies == ["a=1", "b=2"], r.headers


# --- Django -------------------------------------------------------------------------

def test_django_index(django_srv):
    mark = len(django_srv.log())
    assert _curl(f"{django_srv.url}/") == b"Hello from Django\n"
    _check_clean(django_srv, mark)


def test_django_json(django_srv):
    data = json.loads(_curl(f"{django_srv.url}/json/?q=x%20y"))
    assert data["framework"] == "django"
    assert data["args"] == {"q": "x y"}
    assert data["server_software"].startswith("hearth/")
    assert data["worker_id"].isdigit()
    assert data["preload"] in ("0", "1")
    assert data["remote_addr"] == "127.0.0.1"
    assert data["scheme"] == "http"


def test_django_form_post(django_srv):
    body = urllib.parse.urlencode({"name": "hearth", "n": "3"}).encode()
    r = hhttp.fetch(django_srv.port, "POST", "/echo/", body=body,
                    headers=[("Content-Type", "application/x-www-form-urlencoded")])
    assert r.status == 200, r.body[:500]
    assert r.json() == {"form": {"name": "hearth", "n": "3"}, "length": len(body)}


def test_django_large_post(django_srv):
    body = b"x" * 300_000
    r = hhttp.fetch(django_srv.port, "POST", "/echo/", body=body,
                    headers=[("Content-Type", "application/octet-stream")], timeout=20)
    assert r.status == 200
    assert r.json()["length"] == len(body)


def test_django_404_and_append_slash(django_srv):
    r = hhttp.get(django_srv.port, "/definitely-missing/")
    assert r.status == 404
    assert b"Traceback" not in r.body  # DEBUG is off
    r = hhttp.get(django_srv.port, "/json")
    assert r.status == 301
    assert r.header("Location").endswith("/json/")


def test_django_head(django_srv):
    with Conn(django_srv.port) as c:
        c.send(request("HEAD", "/") + request("GET", "/"))
        h = c.read_response("HEAD")
        g = c.read_response()
    assert h.status == 200 and h.body == b""
    assert g.body == b"Hello from Django\n"
