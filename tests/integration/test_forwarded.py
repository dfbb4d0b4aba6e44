"""X-Forwarded-For / X-Forwarded-Proto are honoured only from forwarded_allow_ips;
X-Forwarded-Host, Forwarded and X-Real-IP reach the app only from those peers (issue 16);
Host values are validated and an absolute-form target's authority is the Host."""
import json
import socket
import time

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


# --- issue 16: host and address claims, Host validation, absolute form ------------------

CLAIMS = [("X-Forwarded-Host", "evil.example"), ("Forwarded", "for=203.0.113.7;host=evil.example;proto=https"),
          ("X-Real-IP", "203.0.113.7")]
CLAIM_KEYS = ("HTTP_X_FORWARDED_HOST", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def test_untrusted_host_and_address_claims_never_reach_the_app(untrusted):
    """An app that builds password-reset links from X-Forwarded-Host (Django's
    USE_X_FORWARDED_HOST, werkzeug's ProxyFix) must not see a client's claim."""
    env = hhttp.get(untrusted.port, "/environ", headers=CLAIMS).json()
    for k in CLAIM_KEYS:
        assert k not in env, (k, env.get(k))
    assert "evil.example" not in json.dumps(env) and "203.0.113.7" not in json.dumps(env)
    assert env["HTTP_HOST"] == "127.0.0.1"


def test_trusted_host_and_address_claims_reach_the_app(trusted):
    env = hhttp.get(trusted.port, "/environ", headers=CLAIMS).json()
    assert env["HTTP_X_FORWARDED_HOST"] == "evil.example"
    assert env["HTTP_FORWARDED"] == "for=203.0.113.7;host=evil.example;proto=https"
    assert env["HTTP_X_REAL_IP"] == "203.0.113.7"


def h2_get(port, path, authority, extra=()):
    """(status, body) of one HTTP/2 GET (prior knowledge) built with python3-h2."""
    pytest.importorskip("h2.connection", reason="python3-h2 is not installed")
    import h2.config
    import h2.connection
    import h2.events
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        c = h2.connection.H2Connection(config=h2.config.H2Configuration(
            client_side=True, header_encoding="utf-8", validate_outbound_headers=False))
        c.initiate_connection()
        sid = c.get_next_available_stream_id()
        c.send_headers(sid, [(":method", "GET"), (":path", path), (":scheme", "http"),
                             (":authority", authority), *extra], end_stream=True)
        sock.sendall(c.data_to_send())
        body, status, done = b"", None, False
        deadline = time.monotonic() + 10
        while not done and time.monotonic() < deadline:
            data = sock.recv(65536)
            if not data:
                return "closed", body
            for ev in c.receive_data(data):
                if isinstance(ev, h2.events.ResponseReceived):
                    status = dict(ev.headers)[":status"]
                elif isinstance(ev, h2.events.DataReceived):
                    body += ev.data
                    c.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, h2.events.StreamEnded):
                    done = True
                elif isinstance(ev, h2.events.StreamReset):
                    return "reset", body
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    return "goaway", body
            sock.sendall(c.data_to_send())
    finally:
        sock.close()
    assert done, "the stream did not end"
    return status, body


def test_untrusted_claims_dropped_over_http2_too(untrusted):
    status, body = h2_get(untrusted.port, "/environ", "h2.example", [(k.lower(), v) for k, v in CLAIMS])
    assert status == "200", (status, body)
    env = json.loads(body)
    assert env["SERVER_PROTOCOL"] == "HTTP/2" and env["HTTP_HOST"] == "h2.example"
    for k in CLAIM_KEYS:
        assert k not in env, k


@pytest.mark.parametrize("authority,extra,refusals", [
    # nghttp2 itself refuses an :authority with a '/' (a malformed request): reset or GOAWAY.
    ("a/b@c", (), {"400", "reset", "goaway", "closed"}),
    ("u@h", (), {"400", "reset", "goaway", "closed"}),
    # A host field next to a good :authority reaches hearthd's own check.
    ("h2.example", [("host", "u@h")], {"400"}),
], ids=["authority-path", "authority-userinfo", "host-field"])
def test_http2_authority_that_is_not_host_and_port_is_refused(untrusted, authority, extra, refusals):
    status, body = h2_get(untrusted.port, "/environ", authority, extra)
    assert status in refusals, (status, body[:200])
    assert hhttp.get(untrusted.port, "/").status == 200  # the daemon is fine


@pytest.mark.parametrize("host", ["a/b@c", "u@h", "h:80x", "evil.example other", "h\\x"])
def test_host_that_is_not_host_and_port_is_400(untrusted, host):
    r = hhttp.get(untrusted.port, "/environ", headers=[("Host", host)])
    assert r.status == 400, r
    assert r.header("X-Request-ID") is None or r.header("X-Request-ID") != ""


def test_absolute_form_authority_is_the_host_the_app_sees(untrusted):
    """RFC 9112 3.2.2: with an absolute-form target the Host field is ignored."""
    with hhttp.Conn(untrusted.port) as c:
        c.send(b"GET http://origin.example:8081/environ?x=1 HTTP/1.1\r\nHost: other.example\r\n"
               b"Connection: close\r\n\r\n")
        r = c.read_response()
    assert r.status == 200, r
    env = r.json()
    assert env["HTTP_HOST"] == "origin.example:8081"
    assert env["SERVER_NAME"] == "origin.example" and env["SERVER_PORT"] == "8081"
    assert env["PATH_INFO"] == "/environ" and env["QUERY_STRING"] == "x=1"
    assert "other.example" not in json.dumps(env)


def test_bad_path_400_carries_a_request_id(untrusted):
    """The 400 for /%00 used to carry an empty `X-Request-ID:` header."""
    r = hhttp.get(untrusted.port, "/%00")
    assert r.status == 400, r
    ids = r.headers_all("X-Request-ID")
    assert len(ids) == 1 and ids[0], r.raw_head
    r = hhttp.get(untrusted.port, "/%00", headers=[("X-Request-ID", "client-id-7")])
    assert r.headers_all("X-Request-ID") == ["client-id-7"], r.raw_head
