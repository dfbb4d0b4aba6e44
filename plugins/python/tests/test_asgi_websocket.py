"""WebSockets in the ASGI runtime (hearth_worker/asgi_websocket.py): the websocket scope
and the WS_* frames of docs/worker-protocol.md, against a real zygote and worker."""

import json

import fakedaemon
from fakedaemon import HEADER, read_frame
from hearth_worker import protocol as P

INTEGRATION_APPS = fakedaemon.HERE.parents[2] / "tests" / "integration" / "apps"
WS_HEADERS = (("hearth.websocket", "1"), ("HTTP_UPGRADE", "websocket"),
              ("HTTP_SEC_WEBSOCKET_KEY", "MDEyMzQ1Njc4OWFiY2RlZg=="),
              ("HTTP_SEC_WEBSOCKET_PROTOCOL", "chat, other"))


def _worker(make_daemon, concurrency=2):
    # The integration suite's WebSocket app (one copy for both suites).
    d = make_daemon(app="asgi_ws:app", extra_args=["--interface", "asgi", "--concurrency", str(concurrency)],
                    pythonpath=(fakedaemon.APPS, INTEGRATION_APPS))
    d.start()
    return d, d.fork(1)


def _frame(ftype, payload=b"", flags=0, aux=0):
    return HEADER.pack(ftype, flags, 0, len(payload), aux) + payload


def _open(w, path, query="", slot=0, request_id=None):
    w.send_request(path, query=query, headers=WS_HEADERS, slot=slot, request_id=request_id)


def test_echo_scope_and_disconnect(make_daemon):
    d, w = _worker(make_daemon)
    sock = w.slots[0]
    _open(w, "/echo")
    f = read_frame(sock)
    assert f.type == P.WS_ACCEPT and f.payload == b"chat\0x-ws-app\0raw"
    sock.sendall(_frame(P.WS_RECEIVE, "héllo".encode(), P.FLAG_TEXT))
    f = read_frame(sock)
    assert (f.type, f.flags, f.payload) == (P.WS_SEND, P.FLAG_TEXT, "héllo".encode())
    sock.sendall(_frame(P.WS_RECEIVE, b"\x00\xff"))
    f = read_frame(sock)
    assert (f.type, f.flags, f.payload) == (P.WS_SEND, 0, b"\x00\xff")
    sock.sendall(_frame(P.WS_DISCONNECT, aux=1001))
    assert read_frame(sock).type == P.RESPONSE_END
    # The slot serves HTTP again.
    assert w.request("/").code == 200

    _open(w, "/scope")
    assert read_frame(sock).type == P.WS_ACCEPT
    scope = json.loads(read_frame(sock).payload)
    assert scope["type"] == "websocket" and scope["scheme"] == "ws" and "method" not in scope
    assert scope["subprotocols"] == ["chat", "other"]
    f = read_frame(sock)
    assert f.type == P.WS_CLOSE and f.aux == 1000
    assert read_frame(sock).type == P.RESPONSE_END


def test_refusal_close_codes_and_errors(make_daemon):
    d, w = _worker(make_daemon)
    sock = w.slots[0]
    _open(w, "/reject")
    f = read_frame(sock)
    assert f.type == P.WS_CLOSE and f.aux == 1000
    assert read_frame(sock).type == P.RESPONSE_END

    _open(w, "/close")
    assert read_frame(sock).type == P.WS_ACCEPT
    assert read_frame(sock).payload == b"bye"
    f = read_frame(sock)
    assert (f.type, f.aux, f.payload) == (P.WS_CLOSE, 4001, b"custom")
    assert read_frame(sock).type == P.RESPONSE_END

    _open(w, "/boom", request_id="ws-boom-1")
    assert read_frame(sock).type == P.WS_ACCEPT
    sock.sendall(_frame(P.WS_RECEIVE, b"x", P.FLAG_TEXT))
    f = read_frame(sock)
    assert f.type == P.WS_CLOSE and f.aux == 1011
    assert read_frame(sock).type == P.RESPONSE_END
    text = d.wait_stderr("ws-boom-marker")
    assert "req ws-boom-1" in text and "Traceback" in text

    r = w.request("/boom-early", headers=WS_HEADERS)  # an HTTP 500 before accepting
    assert r.code == 500


def test_frames_left_over_from_a_closed_socket_are_skipped(make_daemon):
    d, w = _worker(make_daemon)
    sock = w.slots[0]
    _open(w, "/close")
    for ftype in (P.WS_ACCEPT, P.WS_SEND, P.WS_CLOSE, P.RESPONSE_END):
        assert read_frame(sock).type == ftype
    # Sent by the daemon before it saw the app's close.
    sock.sendall(_frame(P.WS_RECEIVE, b"late", P.FLAG_TEXT) + _frame(P.WS_DISCONNECT, aux=1000))
    assert w.request("/").code == 200


def test_a_sending_app_learns_that_the_client_left(make_daemon):
    d, w = _worker(make_daemon)
    sock = w.slots[0]
    _open(w, "/flood")
    assert read_frame(sock).type == P.WS_ACCEPT
    assert read_frame(sock).type == P.WS_SEND
    sock.sendall(_frame(P.WS_DISCONNECT, aux=1006))
    while True:  # the app's sends in flight, then the end
        f = read_frame(sock, timeout=10)
        if f.type != P.WS_SEND:
            break
    assert f.type in (P.WS_CLOSE, P.RESPONSE_END)
    d.wait_stderr("flood-stopped-marker")


def test_many_round_trips_and_messages_that_arrive_early(make_daemon):
    # The slot keeps one readiness watch between reads (asgi_worker.AsyncSlot._wait_readable):
    # one message at a time, then bursts that arrive while the app is still answering (the
    # watch fires with nobody reading and is dropped until a read waits again).
    d, w = _worker(make_daemon)
    sock = w.slots[0]
    _open(w, "/echo")
    assert read_frame(sock).type == P.WS_ACCEPT
    for i in range(200):
        sock.sendall(_frame(P.WS_RECEIVE, b"m%d" % i))
        f = read_frame(sock)
        assert (f.type, f.payload) == (P.WS_SEND, b"m%d" % i)
    for burst in range(20):
        sock.sendall(b"".join(_frame(P.WS_RECEIVE, b"b%d.%d" % (burst, j)) for j in range(5)))
        for j in range(5):
            f = read_frame(sock)
            assert (f.type, f.payload) == (P.WS_SEND, b"b%d.%d" % (burst, j))
    sock.sendall(_frame(P.WS_DISCONNECT, aux=1000))
    assert read_frame(sock).type == P.RESPONSE_END
    assert w.request("/").code == 200
