"""Streamed responses and CLIENT_GONE in the Python runtime (issue 17): the STREAM flag on
RESPONSE_START, X-Accel-Buffering dropped, a WSGI stream closed at the next chunk after
CLIENT_GONE, ASGI http.disconnect and no-op send() after it, and a CLIENT_GONE that crossed
RESPONSE_END skipped (docs/worker-protocol.md)."""

import time

import pytest

import fakedaemon
from hearth_worker import protocol as P
from hearth_worker import wsgi

GONE = P.HEADER.pack(P.CLIENT_GONE, 0, 0, 0, 0)


def _flags(frame):
    return frame[1]


def test_encode_start_flags_streams_and_drops_x_accel_buffering():
    frame, code, cl = wsgi.encode_start("200 OK", [("Content-Type", "text/plain"), ("X-Accel-Buffering", "no")])
    assert _flags(frame) == P.FLAG_STREAM and wsgi.is_stream(frame)
    assert frame[16:] == b"200 OK\0Content-Type\0text/plain"
    frame, _, _ = wsgi.encode_start("200 OK", [("x-accel-buffering", "yes"), ("A", "b")])
    assert _flags(frame) == 0 and frame[16:] == b"200 OK\0A\0b"
    for ctype in ("text/event-stream", "Text/Event-Stream; charset=utf-8"):
        frame, _, _ = wsgi.encode_start("200 OK", [("Content-Type", ctype)])
        assert _flags(frame) == P.FLAG_STREAM, ctype
    frame, _, _ = wsgi.encode_start("200 OK", [("Content-Type", "text/event-streamx")])
    assert _flags(frame) == 0
    frame, _, _ = wsgi.encode_start("200 OK", [("Content-Type", "text/html"), ("Content-Length", "3")])
    assert _flags(frame) == 0


def _read_until_end(w, slot=0, timeout=10.0, limit=100000):
    frames = []
    deadline = time.monotonic() + timeout
    for _ in range(limit):
        f = fakedaemon.read_frame(w.slots[slot], max(0.01, deadline - time.monotonic()))
        frames.append(f)
        if f.type == P.RESPONSE_END:
            return frames
    raise AssertionError("no RESPONSE_END in %d frames" % limit)


def _wait_record(path, text, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text():
            return path.read_text()
        time.sleep(0.02)
    raise AssertionError("%r never appeared in %s (%r)" % (text, path, path.read_text() if path.exists() else None))


# -- WSGI ---------------------------------------------------------------------------------

@pytest.fixture
def wsgi_worker(make_daemon, tmp_path):
    record = tmp_path / "record.txt"
    d = make_daemon(app="stream_app:wsgi", env={"HEARTH_TEST_RECORD": str(record)})
    d.start()
    return d.fork(1), record, d


def test_wsgi_stream_flag_and_header_dropped(wsgi_worker):
    w, _, _ = wsgi_worker
    r = w.request("/accel")
    assert r.frames[0].flags == P.FLAG_STREAM
    assert r.header("X-Accel-Buffering") is None and r.header("X-Other") == "1"
    assert r.chunks == [b"a", b"b"]  # each yielded chunk its own frame
    r = w.request("/accel-yes")
    assert r.frames[0].flags == 0 and r.header("X-Accel-Buffering") is None and r.body == b"buffered"
    r = w.request("/")
    assert r.frames[0].flags == 0 and r.body == b"plain"


def test_wsgi_stream_stops_and_closes_at_the_next_chunk_after_client_gone(wsgi_worker):
    w, record, _ = wsgi_worker
    w.send_request("/sse")
    first = fakedaemon.read_frame(w.slots[0])
    assert first.type == P.RESPONSE_START and first.flags == P.FLAG_STREAM
    w.slots[0].sendall(GONE)
    frames = _read_until_end(w)
    end = frames[-1]
    assert end.type == P.RESPONSE_END and end.flags == 0
    # The worker yields events as fast as it can write them; it stopped long before 1000.
    assert len(frames) < 1000, len(frames)
    assert _wait_record(record, "closed")
    assert w.request("/").body == b"plain"  # the slot serves on


def test_wsgi_client_gone_that_crossed_response_end_is_skipped(wsgi_worker):
    w, _, d = wsgi_worker
    assert w.request("/").body == b"plain"
    w.slots[0].sendall(GONE)  # as if it crossed the END just read
    assert w.request("/").body == b"plain"
    w.slots[0].sendall(GONE + GONE)
    assert w.request("/accel").chunks == [b"a", b"b"]
    assert "protocol error" not in d.stderr()


# -- ASGI ---------------------------------------------------------------------------------

@pytest.fixture(params=[False, True], ids=["uvloop-if-installed", "asyncio"])
def asgi_worker(request, make_daemon, tmp_path):
    record = tmp_path / "record.txt"
    env = {"HEARTH_TEST_RECORD": str(record)}
    if request.param:
        env["HEARTH_TEST_NO_UVLOOP"] = "1"
    d = make_daemon(app="stream_app:app", env=env,
                    extra_args=["--interface", "asgi", "--concurrency", "2", "--lifespan", "off"])
    d.start()
    w = d.fork(1)
    loop = w.request("/loop").body.decode()
    if request.param or not fakedaemon.python_has("uvloop"):
        assert loop.startswith("asyncio"), loop
    else:
        assert loop.startswith("uvloop"), loop
    return w, record, d


def test_asgi_more_body_sets_the_stream_flag(asgi_worker):
    w, _, _ = asgi_worker
    r = w.request("/stream")
    assert r.frames[0].flags == P.FLAG_STREAM and r.chunks == [b"c0", b"c1", b"c2"]
    r = w.request("/")
    assert r.frames[0].flags == 0 and r.body == b"ok"


def test_asgi_receive_says_disconnect_after_client_gone(asgi_worker):
    w, record, _ = asgi_worker
    w.send_request("/wait")
    time.sleep(0.05)  # not synchronisation: the app may or may not be waiting yet; both must work
    w.slots[0].sendall(GONE)
    frames = _read_until_end(w)
    # Nothing was sent: RESPONSE_END alone (valid after CLIENT_GONE).
    assert [f.type for f in frames] == [P.RESPONSE_END] and frames[0].flags == 0
    assert _wait_record(record, "disconnect")
    assert w.request("/").body == b"ok"


def test_asgi_send_after_client_gone_is_a_no_op(asgi_worker):
    w, record, _ = asgi_worker
    w.send_request("/stream-wait")
    start = fakedaemon.read_frame(w.slots[0])
    assert start.type == P.RESPONSE_START and start.flags == P.FLAG_STREAM
    assert fakedaemon.read_frame(w.slots[0]).payload == b"first"
    w.slots[0].sendall(GONE)
    frames = _read_until_end(w)
    assert [f.type for f in frames] == [P.RESPONSE_END]  # "ignored" never went out
    assert _wait_record(record, "disconnect, send was a no-op")
    assert w.request("/").body == b"ok"


def test_asgi_stream_without_receive_ends_after_client_gone(asgi_worker):
    w, record, _ = asgi_worker
    w.send_request("/stream-only")
    assert fakedaemon.read_frame(w.slots[0]).type == P.RESPONSE_START
    w.slots[0].sendall(GONE)
    frames = _read_until_end(w)
    assert frames[-1].flags == 0
    assert len(frames) < 200  # the sends after CLIENT_GONE were dropped
    assert _wait_record(record, "stream-only done")


def test_asgi_client_gone_that_crossed_response_end_is_skipped(asgi_worker):
    w, _, d = asgi_worker
    assert w.request("/").body == b"ok"
    w.slots[0].sendall(GONE)
    assert w.request("/").body == b"ok"
    w.slots[0].sendall(GONE + GONE)
    assert w.request("/stream").chunks == [b"c0", b"c1", b"c2"]
    assert "protocol error" not in d.stderr()


# -- Dispatch ahead (docs/worker-protocol.md): the next REQUEST already behind the current one

def test_poll_client_gone_leaves_a_buffered_next_request_in_place():
    import socket as _socket
    from hearth_worker.conn import SlotConn, poll_client_gone
    a, b = _socket.socketpair()
    try:
        conn = SlotConn(b)
        block = fakedaemon.environ_block("POST", "/next", body=b"xyz")
        nxt = P.HEADER.pack(P.REQUEST, 0, 0, len(block), 3) + block + b"xyz"
        assert not poll_client_gone(conn)  # nothing there
        a.sendall(nxt[:7])  # a partial header: not taken for anything
        deadline = time.monotonic() + 5
        while conn.end < 7 and time.monotonic() < deadline:
            assert not poll_client_gone(conn)
        a.sendall(nxt[7:])
        while conn.end - conn.pos < len(nxt) and time.monotonic() < deadline:
            assert not poll_client_gone(conn)
        assert bytes(conn.buf[conn.pos:conn.end]) == nxt  # all of it still buffered, in order
    finally:
        a.close()
        b.close()


def test_wsgi_stream_with_the_next_request_queued_behind_it(wsgi_worker):
    w, _, d = wsgi_worker
    # Both requests in the socket before the first is answered, as hearthd's dispatch
    # ahead writes them; the stream's CLIENT_GONE checks find the second REQUEST and
    # must leave it (and its body) for the next exchange.
    w.send_request("/accel")
    w.send_request("/", method="POST", body=b"b" * 5000)
    first = w.read_response()
    assert first.chunks == [b"a", b"b"]
    second = w.read_response()
    assert second.body == b"plain"
    assert w.request("/").body == b"plain"
    assert "protocol error" not in d.stderr()


def _raw_request(path, query="", method="GET", body=b""):
    block = fakedaemon.environ_block(method, path, query, body)
    return P.HEADER.pack(P.REQUEST, 0, 0, len(block), len(body)) + block + body


def test_wsgi_request_with_its_client_gone_already_buffered_is_skipped(wsgi_worker):
    """A request hearthd took back from behind a busy slot (dispatch ahead), or whose client
    left before it started: a CLIENT_GONE right behind a bodiless REQUEST, both buffered when
    the worker reads it. The app is not called; a bare RESPONSE_END keeps the framing."""
    w, record, d = wsgi_worker
    w.slots[0].sendall(_raw_request("/accel") + _raw_request("/record", "skipped") + GONE
                       + _raw_request("/record", "runs"))
    assert w.read_response().chunks == [b"a", b"b"]
    skipped = _read_until_end(w)
    assert [(f.type, f.flags, f.payload) for f in skipped] == [(P.RESPONSE_END, 0, b"")]
    assert w.read_response().body == b"plain"
    text = _wait_record(record, "ran runs")
    assert "skipped" not in text
    # With a body the CLIENT_GONE is read only after it: the app runs (and may see it), as before.
    w.slots[0].sendall(_raw_request("/record", "with-body", method="POST", body=b"xyz") + GONE)
    assert w.read_response().body == b"plain"
    assert _wait_record(record, "ran with-body")
    assert w.request("/").body == b"plain"
    assert "protocol error" not in d.stderr()


def test_wsgi_stream_finds_its_client_gone_behind_a_withdrawn_request(wsgi_worker):
    """hearthd took back the request it had queued behind a stream (its own CLIENT_GONE right
    behind it), then the stream's client left: the worker skips the pair, stops the stream,
    and sends the bare RESPONSE_END it owes for the skipped request after the stream's."""
    w, record, d = wsgi_worker
    w.send_request("/sse")
    first = fakedaemon.read_frame(w.slots[0])
    assert first.type == P.RESPONSE_START and first.flags == P.FLAG_STREAM
    w.slots[0].sendall(_raw_request("/record", "withdrawn") + GONE + GONE)
    frames = _read_until_end(w)
    assert len(frames) < 1000, len(frames)  # stopped early: it saw the second CLIENT_GONE
    owed = fakedaemon.read_frame(w.slots[0])
    assert (owed.type, owed.flags, owed.payload) == (P.RESPONSE_END, 0, b"")
    assert _wait_record(record, "closed")
    assert w.request("/").body == b"plain"
    assert "ran withdrawn" not in record.read_text()
    assert "protocol error" not in d.stderr()
