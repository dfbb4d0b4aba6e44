"""X-Forwarded-For / X-Forwarded-Proto are honoured only from forwarded_allow_ips."""
import pytest

import hhttp

XF = [("X-Forwarded-For", "203.0.113.7"), ("X-Forwarded-Proto", "https")]


@pytest.fixture(scope="module")
def trusted(hearthd_module):
    return hearthd_module("basic:app", "--forwarded-allow-ips", "127.0.0.1", workers=1)


@pytest.fixture(scope="module")
def untrusted(hearthd_module):
    return hearthd_module("basic:app", "--forwarded-allow-ips", "10.9.9.9", workers=1)


def test_trusted_proxy_headers_are_applied(trusted):
    env = hhttp.get(trusted.port, "/environ", headers=XF).json()
    assert env["REMOTE_ADDR"] == "203.0.113.7"
    assert env["wsgi.url_scheme"] == "https"


def test_trusted_without_headers_keeps_peer(trusted):
    env = hhttp.get(trusted.port, "/environ").json()
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["wsgi.url_scheme"] == "http"


def test_untrusted_proxy_headers_are_ignored(untrusted):
    env = hhttp.get(untrusted.port, "/environ", headers=XF).json()
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["wsgi.url_scheme"] == "http"


def test_forwarded_proto_only(trusted, untrusted):
    proto = [("X-Forwarded-Proto", "https")]
    assert hhttp.get(trusted.port, "/environ", headers=proto).json()["wsgi.url_scheme"] == "https"
    assert hhttp.get(untrusted.port, "/environ", headers=proto).json()["wsgi.url_scheme"] == "http"


def test_underscore_header_cannot_spoof(trusted):
    env = hhttp.get(trusted.port, "/environ",
                    headers=[("X-Forwarded_For", "6.6.6.6")]).json()
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert "6.6.6.6" not in env.values(), "a header with '_' in its name reached the environ"
