"""Pure pieces (spec parsing, header encoding, Input over a socketpair) and lifeline in a child."""

import os
import socket
import threading

import pytest

import fakedaemon  # noqa: F401  (puts plugins/python on sys.path)
from hearth_worker import loader, protocol as P
from hearth_worker.conn import SlotClosed, SlotConn
from hearth_worker.wsgi import BadResponse, FileWrapper, Input, encode_start, no_body_expected


@pytest.mark.parametrize("spec, expect", [
    ("app", ("app", None, False)),
    ("pkg.mod:application", ("pkg.mod", "application", False)),
    ("pkg.mod:obj.wsgi", ("pkg.mod", "obj.wsgi", False)),
    ("pkg.mod:create_app()", ("pkg.mod", "create_app", True)),
])
def test_parse_spec(spec, expect):
    assert loader.parse_spec(spec) == expect


@pytest.mark.parametrize("spec", ["", ":app", "mod:", "mod:f(1)", "mod:f(x=1)", "1mod:app", "mod:a b"])
def test_parse_spec_rejects(spec):
    with pytest.raises(loader.AppSpecError):
        loader.parse_spec(spec)


def test_encode_start():
    frame, code, cl = encode_start("200 OK", [("Content-Type", "text/plain"), ("content-length", " 12 ")])
    ftype, flags, _, length, aux = P.HEADER.unpack(frame[:16])
    assert (ftype, flags, length, aux) == (P.RESPONSE_START, 0, len(frame) - 16, 0)
    assert frame[16:] == b"200 OK\0Content-Type\0text/plain\0content-length\0 12 "
    assert (code, cl) == (200, 12)
    assert encode_start("404 Not Found", [])[0][16:] == b"404 Not Found"


@pytest.mark.parametrize("status, headers, exc", [
    (b"200 OK", [], TypeError),
    ("2000 OK", [], BadResponse),
    ("abc OK", [], BadResponse),
    ("200 OK", (), TypeError),
    ("200 OK", [["A", "b"]], TypeError),
    ("200 OK", [("A", b"b")], TypeError),
    ("200 OK", [("A", "b\nc")], BadResponse),
    ("200 OK", [("A", "b\0c")], BadResponse),
    ("200 OK\r\nX: y", [], BadResponse),
    ("200 OK", [("A", "\u0100")], BadResponse),
    ("200 OK", [("Content-Length", "-1")], BadResponse),
    ("200 OK", [("", "x")], BadResponse),
    ("200 OK", [("Bad Name", "x")], BadResponse),
    ("200 OK", [("Bad:Name", "x")], BadResponse),
    ("200 OK", [("N\u00e4me", "x")], BadResponse),
    ("099 Low", [], BadResponse),
])
def test_encode_start_rejects(status, headers, exc):
    with pytest.raises(exc):
        encode_start(status, headers)


def test_no_body_expected():
    assert no_body_expected("HEAD", 200)
    assert no_body_expected("GET", 204) and no_body_expected("GET", 304) and no_body_expected("GET", 101)
    assert not no_body_expected("GET", 200)


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def _input(pair, prebuffered, rest, length, trailer=b""):
    a, b = pair
    conn = SlotConn(a)
    conn.buf[:len(prebuffered)] = prebuffered
    conn.end = len(prebuffered)
    b.sendall(rest + trailer)
    return conn, Input(conn, length)


def test_input_reads_buffer_then_socket(pair):
    conn, inp = _input(pair, b"hello ", b"world\nsecond line", 23, trailer=b"NEXT")
    assert inp.readline() == b"hello world\n"
    assert inp.read(3) == b"sec"
    assert inp.read() == b"ond line"
    assert inp.read() == b"" and inp.readline() == b""
    inp.drain()
    conn.fill(4)
    assert bytes(conn.view[conn.pos:conn.pos + 4]) == b"NEXT"


def test_input_drain_leaves_next_frame(pair):
    conn, inp = _input(pair, b"abc", b"d" * 200000, 200003, trailer=b"NEXT")
    assert inp.read(2) == b"ab"
    inp.drain()
    conn.fill(4)
    assert bytes(conn.view[conn.pos:conn.pos + 4]) == b"NEXT"


def test_input_eof_mid_body_is_slot_closed(pair):
    conn, inp = _input(pair, b"", b"abc", 10)
    pair[1].close()
    with pytest.raises(SlotClosed):
        inp.read(10)


def test_input_readlines_hint_and_iter(pair):
    conn, inp = _input(pair, b"a\nb\n", b"c\nd", 7)
    assert inp.readlines(3) == [b"a\n", b"b\n"]
    assert list(inp) == [b"c\n", b"d"]


def test_file_wrapper_blocks_and_close():
    closed = []

    class F:
        def __init__(self):
            self.data = b"abcdefghij"

        def read(self, n):
            out, self.data = self.data[:n], self.data[n:]
            return out

        def close(self):
            closed.append(True)

    fw = FileWrapper(F(), 4)
    assert list(fw) == [b"abcd", b"efgh", b"ij"]
    fw.close()
    assert closed == [True]


# -- SlotConn's public body methods (what wsgi.Input uses) -------------------------------

def test_slotconn_take_buffered_never_reads_the_socket(pair):
    conn, _ = _input(pair, b"abcdef", b"ghi", 9)
    assert conn.take_buffered(4) == b"abcd"
    assert conn.take_buffered(10) == b"ef"      # only what is buffered
    assert conn.take_buffered(10) == b""        # nothing buffered: no blocking read
    assert (conn.pos, conn.end) == (0, 0)


def test_slotconn_take_line_stops_at_newline_or_limit(pair):
    conn, _ = _input(pair, b"ab\ncdef", b"gh\n", 10)
    assert conn.take_line(100) == b"ab\n"
    assert conn.take_line(2) == b"cd"
    assert conn.take_line(100) == b"ef"         # the rest of the buffer, no newline
    assert conn.take_line(100) == b"gh\n"       # buffer empty: received first


def test_slotconn_skip_crosses_buffer_and_socket(pair):
    conn, _ = _input(pair, b"abc", b"x" * 100000 + b"NEXT", 0)
    conn.skip(100003)
    conn.fill(4)
    assert bytes(conn.view[conn.pos:conn.pos + 4]) == b"NEXT"


def test_slotconn_recv_into_eof_is_slot_closed(pair):
    conn, _ = _input(pair, b"", b"", 0)
    pair[1].close()
    with pytest.raises(SlotClosed):
        conn.recv_into(memoryview(bytearray(8)))


def test_slotconn_recv_bytes_waits_for_the_whole_piece(pair):
    conn, _ = _input(pair, b"", b"", 0)
    data = bytes(range(256)) * 1024  # 256 KiB: more than one socket read's worth
    sender = threading.Thread(target=pair[1].sendall, args=(data + b"TAIL",))
    sender.start()
    try:
        assert conn.recv_bytes(len(data)) == data
    finally:
        sender.join(10)
    pair[1].shutdown(socket.SHUT_WR)
    assert conn.recv_bytes(100) == b"TAIL"  # EOF ends the wait: what is there


def test_slotconn_recv_bytes_eof_is_slot_closed(pair):
    conn, _ = _input(pair, b"", b"", 0)
    pair[1].close()
    with pytest.raises(SlotClosed):
        conn.recv_bytes(8)


def test_input_large_read_without_buffered_bytes_is_exact(pair):
    body = bytes(range(251)) * 2000  # ~490 KiB: more than the socket buffer, sent by a thread
    conn, inp = _input(pair, b"", b"", len(body))
    sender = threading.Thread(target=pair[1].sendall, args=(body + b"NEXT",))
    sender.start()
    got = []
    try:
        while True:
            chunk = inp.read(65536)
            if not chunk:
                break
            got.append(chunk)
    finally:
        sender.join(10)
    assert b"".join(got) == body
    assert inp._remaining == 0
    conn.fill(4)
    assert bytes(conn.view[conn.pos:conn.pos + 4]) == b"NEXT"  # nothing past the body was taken


def test_slotconn_sendmsg_all_sends_the_parts_in_order(pair):
    conn = SlotConn(pair[0])
    parts = [b"head", bytes(range(256)) * 800, b"", b"END"]
    expect = b"".join(parts)
    got = bytearray()
    reader = threading.Thread(target=lambda: _read_n(pair[1], len(expect), got))
    reader.start()
    conn.sendmsg_all(parts)
    reader.join(10)
    assert bytes(got) == expect


def _read_n(sock, n, out):
    while len(out) < n:
        chunk = sock.recv(65536)
        if not chunk:
            return
        out += chunk


def test_input_counts_bytes_received_before_slot_closed(pair):
    conn, inp = _input(pair, b"ab", b"cde", 10)
    pair[1].close()
    with pytest.raises(SlotClosed):
        inp.read(10)
    assert inp._remaining == 5   # 2 buffered + 3 received were consumed


# -- lifeline: exit_now and the death pipe ------------------------------------------------

def _run_lifeline(code):
    import subprocess
    import sys
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return subprocess.run([sys.executable, "-c", code], cwd=here, capture_output=True, timeout=20)


def test_watch_death_pipe_exits_0_on_eof():
    p = _run_lifeline(
        "import os, threading, time\n"
        "from hearth_worker import lifeline\n"
        "r, w = os.pipe()\n"
        "threading.Thread(target=lifeline.watch_death_pipe, args=(r,), daemon=True).start()\n"
        "print('watching', flush=True)\n"
        "os.close(w)\n"
        "time.sleep(15)\n"
        "os._exit(9)\n")
    assert p.returncode == 0, p
    assert p.stdout == b"watching\n"


def test_death_pipe_readable_returns_when_not_eof_and_exits_on_eof():
    p = _run_lifeline(
        "import os, sys\n"
        "from hearth_worker import lifeline\n"
        "r, w = os.pipe()\n"
        "os.set_blocking(r, False)\n"
        "lifeline.death_pipe_readable(r)\n"      # spurious: no data, no EOF
        "sys.stdout.write('still here\\n')\n"     # flushed by exit_now
        "os.close(w)\n"
        "lifeline.death_pipe_readable(r)\n"
        "os._exit(9)\n")
    assert p.returncode == 0, p
    assert p.stdout == b"still here\n"
