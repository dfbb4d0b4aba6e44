"""The per-request fast paths of the runtime (bench/worker_inproc.py measures them): what goes
out in one system call, and that the caches give the same answers as the full encoders."""

import asyncio
import socket
import threading

import pytest

import fakedaemon  # noqa: F401  (puts plugins/python on sys.path)
from hearth_worker import asgi, protocol as P
from hearth_worker.asgi_worker import AsyncSlot
from hearth_worker.worker import Slot


class _Worker:
    threads = 1
    worker_id = 1
    stopping = False


class _Sock:
    """Records every sendall(); Slot never reads it in these tests."""

    def __init__(self):
        self.sent = []

    def sendall(self, data):
        self.sent.append(bytes(data))

    def sendmsg(self, parts):
        data = b"".join(bytes(p) for p in parts)
        self.sent.append(data)
        return len(data)


def _frames(data):
    out = []
    pos = 0
    while pos < len(data):
        ftype, flags, _r, length, _aux = P.HEADER.unpack_from(data, pos)
        out.append((ftype, flags, bytes(data[pos + 16:pos + 16 + length])))
        pos += 16 + length
    return out


def _serve(app, method="GET"):
    sock = _Sock()
    slot = Slot(_Worker(), 0, sock, app)
    environ = {"REQUEST_METHOD": method, "PATH_INFO": "/"}
    slot.environ = environ
    slot.body = None
    slot.handle(environ)
    return sock.sent


class ClosingIterator:
    """Werkzeug's response iterable (every Flask response): an iterator with close()."""

    def __init__(self, items):
        self.it = iter(items)
        self.closed = False

    def __iter__(self):
        return self

    def __next__(self):
        return next(self.it)

    def close(self):
        self.closed = True


HEADERS = [("Content-Type", "text/plain"), ("Content-Length", "5")]


def test_iterator_that_completes_content_length_is_one_sendall():
    it = ClosingIterator([b"hello"])

    def app(environ, start_response):
        start_response("200 OK", HEADERS)
        return it

    sent = _serve(app)
    assert len(sent) == 1  # START + BODY + END in one system call
    assert [(t, f) for t, f, _ in _frames(sent[0])] == [
        (P.RESPONSE_START, 0), (P.RESPONSE_BODY, 0), (P.RESPONSE_END, 0)]
    assert _frames(sent[0])[1][2] == b"hello"
    assert it.closed


def test_large_last_item_goes_with_start_and_end_in_one_sendmsg():
    # Past the join threshold the pieces go out in one sendmsg (no join copy), still
    # one system call for START + BODY + END (the branches i17-py and i14-big met here).
    body = bytes(range(256)) * 400  # 102,400 bytes
    it = ClosingIterator([body])

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return it

    sent = _serve(app)
    assert len(sent) == 1
    assert _frames(sent[0]) == [(P.RESPONSE_START, 0, _frames(sent[0])[0][2]), (P.RESPONSE_BODY, 0, body),
                                (P.RESPONSE_END, 0, b"")]
    assert it.closed


def test_complete_body_in_pieces_last_piece_goes_with_end():
    def app(environ, start_response):
        start_response("200 OK", HEADERS)
        yield b"he"
        yield b"llo"

    sent = _serve(app)
    assert len(sent) == 2
    assert [t for t, _, _ in _frames(sent[0])] == [P.RESPONSE_START, P.RESPONSE_BODY]
    assert _frames(sent[1]) == [(P.RESPONSE_BODY, 0, b"llo"), (P.RESPONSE_END, 0, b"")]


def test_failure_after_the_whole_body_still_aborts():
    def app(environ, start_response):
        start_response("200 OK", HEADERS)
        yield b"hello"
        raise RuntimeError("after the body")

    frames = _frames(b"".join(_serve(app)))
    assert [(t, f) for t, f, _ in frames] == [
        (P.RESPONSE_START, 0), (P.RESPONSE_BODY, 0), (P.RESPONSE_END, P.FLAG_ABORTED)]
    assert frames[1][2] == b"hello"


def test_bad_item_after_the_whole_body_still_aborts():
    def app(environ, start_response):
        start_response("200 OK", HEADERS)
        return ClosingIterator([b"hello", "text"])

    frames = _frames(b"".join(_serve(app)))
    assert [(t, f) for t, f, _ in frames] == [
        (P.RESPONSE_START, 0), (P.RESPONSE_BODY, 0), (P.RESPONSE_END, P.FLAG_ABORTED)]


def test_exc_info_after_the_whole_body_is_too_late():
    import sys

    def app(environ, start_response):
        start_response("200 OK", HEADERS)
        yield b"hello"
        try:
            raise ValueError("late")
        except ValueError:
            start_response("500 Internal Server Error", HEADERS, sys.exc_info())
        yield b"never"

    frames = _frames(b"".join(_serve(app)))
    assert frames[0][2].startswith(b"200 OK")
    assert frames[1][2] == b"hello" and frames[-1] == (P.RESPONSE_END, P.FLAG_ABORTED, b"")


def test_items_past_content_length_are_cut_and_the_end_is_clean():
    def app(environ, start_response):
        start_response("200 OK", HEADERS)
        return ClosingIterator([b"hello", b"", b"more"])

    frames = _frames(b"".join(_serve(app)))
    assert frames == [frames[0], (P.RESPONSE_BODY, 0, b"hello"), (P.RESPONSE_END, 0, b"")]


def test_stream_chunks_are_not_held():
    sock = _Sock()
    seen = []

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/event-stream"), ("Content-Length", "5")])
        yield b"hello"
        seen.append(len(sock.sent))  # the chunk went out before the app was asked again

    slot = Slot(_Worker(), 0, sock, app)
    environ = {"REQUEST_METHOD": "GET"}
    slot.environ = environ
    slot.body = type("B", (), {"_remaining": 1})()  # body unread: no CLIENT_GONE poll
    slot.handle(environ)
    assert seen == [1]
    assert _frames(b"".join(sock.sent))[-1] == (P.RESPONSE_END, 0, b"")


# -- ASGI -----------------------------------------------------------------------------------

def test_response_start_cache_same_answer_and_iterators_read_once():
    msg = {"type": "http.response.start", "status": 200,
           "headers": [(b"content-type", b"text/plain"), (b"content-length", b"3")]}
    first = asgi.encode_response_start(msg)
    assert asgi.encode_response_start(dict(msg)) == first
    assert asgi.encode_response_start({"status": 200, "headers": iter(msg["headers"])}) == first
    assert asgi.encode_response_start({"status": 200, "headers": [list(h) for h in msg["headers"]]}) == first
    assert asgi.encode_response_start(
        {"status": 200, "headers": [(bytearray(b"content-type"), b"text/plain"),
                                    (b"content-length", b"3")]}) == first
    # A bool is not an int status, even though True == 1 would hit a cached (1, ...) key.
    with pytest.raises(TypeError):
        asgi.encode_response_start({"status": True, "headers": []})
    assert asgi.encode_response_start({"status": 404, "headers": []})[0][16:] == b"404 Not Found"


def test_scope_header_names_cache_is_bounded_and_exact():
    env = {"HTTP_X_ONE": "1", "REQUEST_METHOD": "GET", "PATH_INFO": "/caf\xc3\xa9"}
    for i in range(asgi._HEADER_NAMES_MAX + 10):
        env["HTTP_X_N%d" % i] = "v"
        scope = asgi.build_scope(env)
        del env["HTTP_X_N%d" % i]
        assert (b"x-n%d" % i, b"v") in scope["headers"]
        assert len(asgi._HEADER_NAMES) <= asgi._HEADER_NAMES_MAX
    assert scope["headers"][0] == (b"x-one", b"1")
    assert scope["path"] == "/caf\xe9"


def test_async_sendall_sends_what_one_send_could_not():
    a, b = socket.socketpair()
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    a.setblocking(False)
    data = bytes(range(256)) * 4096  # 1 MiB: far more than one send() takes
    got = bytearray()

    def reader():
        while len(got) < len(data):
            chunk = b.recv(65536)
            if not chunk:
                return
            got.extend(chunk)

    loop = asyncio.new_event_loop()
    aw = type("AW", (), {"loop": loop})()
    slot = AsyncSlot(aw, 0, a)
    t = threading.Thread(target=reader)
    t.start()
    try:
        loop.run_until_complete(asyncio.wait_for(slot.sendall(data), 30))
    finally:
        t.join(30)
        loop.close()
        a.close()
        b.close()
    assert bytes(got) == data
