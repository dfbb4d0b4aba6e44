"""HTTP/2 twins of the HTTP/1.1 timeouts, and rapid reset's GOAWAY code and access log,
checked with HTTP/2 frames written by hand over raw sockets (issue 16):

* header_timeout: a HEADERS frame without END_HEADERS, then silence -> GOAWAY, close;
* body_timeout: a stream that declared content-length 10 and sent 3 bytes -> 408 on that
  stream, then RST_STREAM(NO_ERROR); the connection goes on;
* keepalive_timeout: a connection with no open stream -> GOAWAY(NO_ERROR), close;
* rapid reset -> GOAWAY ENHANCE_YOUR_CALM; reset streams are logged 499, never `200 0`.

Timing assertions allow the configured timeout minus 50 ms (timer granularity) up to plus
1.5 s (a loaded 2-core machine), never a multiple of it."""
import os
import re
import socket
import struct
import time
import warnings

import pytest

pytest.importorskip("h2.connection", reason="python3-h2 is not installed")
import hpack  # noqa: E402

from conftest import poll  # noqa: E402
from test_http2 import (  # noqa: E402
    DATA, END_HEADERS, END_STREAM, GOAWAY, HEADERS, RST_STREAM, CANCEL,
    H2Client, RawReader, assert_serving, frame, raw_h2_socket, read_frame, request_block,
)

NO_ERROR, PROTOCOL_ERROR, ENHANCE_YOUR_CALM = 0x0, 0x1, 0xB
EARLY, LATE = 0.05, 1.5  # allowed margins around a configured timeout, seconds


def timeouts_toml(header="30s", body="30s", keepalive="30s"):
    return (f"[http]\nhttp2 = true\nheader_timeout = \"{header}\"\n"
            f"body_timeout = \"{body}\"\nkeepalive_timeout = \"{keepalive}\"\n")


def assert_near(elapsed, configured, what):
    assert configured - EARLY <= elapsed <= configured + LATE, (
        f"{what} after {elapsed:.3f} s; configured {configured} s (allowed -{EARLY}/+{LATE} s)")


def wait_goaway_and_close(sock, t0, limit=10.0):
    """Frames until the daemon closes the socket: (goaway, goaway_at - t0, closed_at - t0, frames)."""
    reader = RawReader(sock, time.monotonic() + limit)
    reader.run()  # in this thread: it returns once the socket is closed or at the deadline
    closed_at = time.monotonic() - t0
    assert reader.closed, f"not closed within {limit} s (frames={reader.types})"
    assert reader.goaway is not None, f"closed without GOAWAY (frames={reader.types})"
    return reader.goaway, reader.goaway_at - t0, closed_at


# --- header_timeout --------------------------------------------------------------

def test_unfinished_header_block_gets_goaway_after_header_timeout(hearthd):
    srv = hearthd("basic:app", workers=1, toml=timeouts_toml(header="1s"))
    block = request_block("/", extra=[("x-pad", "p" * 100)])
    s = raw_h2_socket(srv.port)
    try:
        # Half the header block, no END_HEADERS: only CONTINUATION may follow; none does.
        s.sendall(frame(HEADERS, END_STREAM, 1, block[:len(block) // 2]))
        t0 = time.monotonic()
        (last_sid, code), goaway_at, closed_at = wait_goaway_and_close(s, t0)
    finally:
        s.close()
    assert_near(goaway_at, 1.0, "GOAWAY")
    assert_near(closed_at, 1.0, "close")
    assert code == PROTOCOL_ERROR, code
    assert_serving(srv)


def test_header_block_finished_in_time_is_served(hearthd):
    srv = hearthd("basic:app", workers=1, toml=timeouts_toml(header="1s"))
    block = request_block("/")
    s = raw_h2_socket(srv.port)
    buf = bytearray()
    try:
        s.sendall(frame(HEADERS, END_STREAM, 1, block[:5]))
        time.sleep(0.5)
        s.sendall(frame(0x9, END_HEADERS, 1, block[5:]))  # CONTINUATION
        s.settimeout(5)
        status = None
        while status is None:
            f = read_frame(s, buf)
            assert f is not None, "closed before the response"
            if f[0] == HEADERS and f[2] == 1:
                status = dict(hpack.Decoder().decode(f[3])).get(":status")
    finally:
        s.close()
    assert status == "200"


# --- body_timeout ----------------------------------------------------------------

def post_headers(sid, length, path="/echo-info"):
    enc = hpack.Encoder()
    return frame(HEADERS, END_HEADERS, sid, enc.encode([
        (":method", "POST"), (":path", path), (":scheme", "http"), (":authority", "localhost"),
        ("content-length", str(length))]))


def test_stalled_body_gets_408_and_reset_after_body_timeout(hearthd):
    srv = hearthd("basic:app", workers=1, toml=timeouts_toml(body="1s"))
    s = raw_h2_socket(srv.port)
    buf, frames, dec = bytearray(), [], hpack.Decoder()
    try:
        s.sendall(post_headers(1, 10) + frame(DATA, 0, 1, b"abc"))
        t0 = time.monotonic()
        s.settimeout(10)
        status = reset = None
        while reset is None:
            f = read_frame(s, buf)
            assert f is not None, f"connection closed; frames {frames}"
            ftype, flags, sid, payload = f
            frames.append((ftype, flags, sid))
            if sid == 1 and ftype == HEADERS:
                status = dict(dec.decode(payload)).get(":status")
                status_at = time.monotonic() - t0
            if sid == 1 and ftype == RST_STREAM:
                reset = struct.unpack(">I", payload)[0]
        assert status == "408", frames
        assert reset == NO_ERROR, reset
        assert_near(status_at, 1.0, "408")
        # The connection itself goes on: stream 3 on the same socket is served.
        s.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 3, request_block("/")))
        got = None
        while got is None:
            f = read_frame(s, buf)
            assert f is not None, "closed after the 408"
            if f[2] == 3 and f[0] == HEADERS:
                got = dict(dec.decode(f[3])).get(":status")
        assert got == "200"
    finally:
        s.close()
    assert_serving(srv)


def test_slow_but_steady_body_is_not_cut(hearthd):
    """body_timeout bounds the gap between DATA frames, not the whole upload."""
    srv = hearthd("basic:app", workers=1, toml=timeouts_toml(body="1s"))
    with H2Client(srv.port) as c:
        sid = c.start("POST", "/echo-info", headers=[("content-length", "5")], end=False)
        for i in range(5):  # 5 bytes over ~2.4 s, 0.6 s apart
            time.sleep(0.6)
            c.conn.send_data(sid, b"x", end_stream=(i == 4))
            c.flush()
        r = c.wait(sid)
    assert r.status == 200 and r.reset is None, r
    assert b'"length": 5' in r.body or b'"length":5' in r.body, r.body


# --- keepalive_timeout -----------------------------------------------------------

def test_connection_without_streams_closes_after_keepalive_timeout(hearthd):
    srv = hearthd("basic:app", workers=1, toml=timeouts_toml(keepalive="1s"))
    s = raw_h2_socket(srv.port)
    t0 = time.monotonic()
    try:
        (last_sid, code), goaway_at, closed_at = wait_goaway_and_close(s, t0)
    finally:
        s.close()
    assert code == NO_ERROR, code
    assert_near(goaway_at, 1.0, "GOAWAY")
    assert_near(closed_at, 1.0, "close")


def test_keepalive_counts_from_the_last_stream(hearthd):
    srv = hearthd("basic:app", workers=1, toml=timeouts_toml(keepalive="1s"))
    s = raw_h2_socket(srv.port)
    buf = bytearray()
    try:
        # A request that lasts 1.5 s: longer than keepalive_timeout; the connection must not
        # be closed under it, and the idle time starts when it ends.
        s.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 1, request_block("/sleep?ms=1500")))
        s.settimeout(10)
        while True:
            f = read_frame(s, buf)
            assert f is not None, "closed while a stream was open"
            assert f[0] != GOAWAY, "GOAWAY while a stream was open"
            if f[2] == 1 and f[0] in (HEADERS, DATA) and f[1] & END_STREAM:
                break
        t0 = time.monotonic()
        (_, code), goaway_at, closed_at = wait_goaway_and_close(s, t0)
    finally:
        s.close()
    assert code == NO_ERROR
    assert_near(goaway_at, 1.0, "GOAWAY after the last stream")


# --- rapid reset -----------------------------------------------------------------

def test_rapid_reset_ends_with_enhance_your_calm_and_no_200_0_in_the_log(hearthd):
    srv = hearthd("basic:app", "--threads", "4", workers=2, ready_workers=2,
                  toml="[http]\nhttp2 = true\n")
    block = request_block("/sleep?ms=50")
    s = raw_h2_socket(srv.port)
    reader = RawReader(s, time.monotonic() + 15)
    reader.start()
    sent = 0
    try:
        for start in range(0, 5000, 100):
            s.sendall(b"".join(
                frame(HEADERS, END_STREAM | END_HEADERS, 1 + 2 * i, block)
                + frame(RST_STREAM, 0, 1 + 2 * i, struct.pack(">I", CANCEL))
                for i in range(start, start + 100)))
            sent += 100
            if reader.goaway or reader.closed:
                break
    except OSError:
        pass
    reader.join(15)
    s.close()
    assert reader.goaway is not None, f"no GOAWAY after {sent} resets (frames={reader.types})"
    assert reader.goaway[1] == ENHANCE_YOUR_CALM, f"GOAWAY {reader.goaway}, not ENHANCE_YOUR_CALM"
    assert reader.closed, "GOAWAY sent but the connection stayed open"
    assert_serving(srv)
    # Every reset stream that reached the proxy is logged 499 with 0 bytes; none as `200 0`.
    h2_lines = lambda: [l for l in srv.stdout().splitlines() if '"GET /sleep?ms=50 HTTP/2.0"' in l]  # noqa: E731
    time.sleep(1.0)  # the worker may still be answering streams dispatched before the resets
    lines = h2_lines()
    assert lines, "no access log line for the flood's streams"
    statuses = [re.search(r'HTTP/2\.0" (\d+) (\d+)', l).groups() for l in lines]
    assert ("200", "0") not in statuses, [l for l in lines if '" 200 0 ' in l][:3]
    assert all(st == ("499", "0") for st in statuses), sorted(set(statuses))


# --- memory and fds per connection, max_buffered_memory --------------------------

REFUSED_STREAM = 0x7
MiB = 1024 * 1024


def proc_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def under_asan(pid):
    """ASan's quarantine keeps freed memory resident by design: RSS bounds cannot hold
    there (.ci/run checks them again against the Release hearthd)."""
    with open(f"/proc/{pid}/maps") as f:
        return "libasan" in f.read()


def proc_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def upload_flood(port, n_conns, n_streams, declared, sent):
    """n_conns raw connections, each opening n_streams POSTs that declare `declared` bytes and
    send `sent` (in 16 KiB DATA frames), then stall. Returns (sockets, readers)."""
    socks, readers = [], []
    chunk = b"u" * 16384
    for _ in range(n_conns):
        s = raw_h2_socket(port)
        r = RawReader(s, time.monotonic() + 120)
        r.start()
        socks.append(s)
        readers.append(r)
        for i in range(n_streams):
            sid = 1 + 2 * i
            out = [post_headers(sid, declared)]
            left = sent
            while left > 0:
                n = min(left, len(chunk))
                out.append(frame(DATA, 0, sid, chunk[:n]))
                left -= n
            s.sendall(b"".join(out))
    return socks, readers


def stream_resets(reader):
    return reader.types.get(RST_STREAM, 0)


@pytest.mark.parametrize("sent", [64 * 1024, 70 * 1024], ids=["64KiB-in-memory", "70KiB-spooled"])
def test_upload_flood_memory_and_fds_stay_bounded_and_memory_comes_back(hearthd, tmp_path, sent):
    # The attack: 20 connections x 100 streams, each declaring a 10 MB body and
    # sending 64 KB (memory) or 70 KB (one spool file each), then stalling. Before: RSS
    # 8 -> 139 MiB and 134 MiB after; ~93 fds per connection (1,024 with 11 connections).
    srv = hearthd("basic:app", workers=1, toml=f'temp_dir = "{tmp_path}"\n' + timeouts_toml())
    pid = srv.proc.pid
    assert_serving(srv)
    rss0, fds0 = proc_rss_kib(pid), proc_fds(pid)
    socks, readers = upload_flood(srv.port, 20, 100, 10_000_000, sent)
    try:
        time.sleep(1.0)  # let the daemon take in what it accepts
        rss1, fds1 = proc_rss_kib(pid), proc_fds(pid)
        assert_serving(srv, limit=2.0)  # normal clients are served during the flood
        refused = sum(stream_resets(r) for r in readers)
    finally:
        for s in socks:
            s.shutdown(socket.SHUT_RDWR)  # wakes its reader thread's recv, so the close is real
            s.close()
        for r in readers:
            r.join(5)
    print(f"\nsent={sent}: RSS {rss0} -> {rss1} KiB, fds {fds0} -> {fds1}, RST_STREAMs {refused}")
    # 16 uploading streams per connection: the other 84 of each are refused (REFUSED_STREAM).
    assert refused >= 20 * (100 - 16), refused
    # fds: the 20 sockets, and at most 16 spool files per connection.
    assert fds1 - fds0 <= 20 * (1 + 16) + 4, f"fds {fds0} -> {fds1}"
    asan = under_asan(pid)
    if asan:
        warnings.warn("RSS bounds of the upload flood not checked under ASan (.ci/run checks them on the Release build)")
    else:
        # Memory: 20 x 16 uploads x 64 KiB = 20 MiB of bodies at most, plus sessions and buffers.
        assert rss1 - rss0 < 40 * 1024, f"RSS grew {rss0} -> {rss1} KiB"
    # After the connections close, the memory goes back (malloc_trim 0.5 s after the burst).
    rss2 = proc_rss_kib(pid) if asan else poll(
        lambda: (lambda v: v if v - rss0 < 8 * 1024 else None)(proc_rss_kib(pid)), 10,
        what=f"RSS back within 8 MiB of {rss0} KiB (was {rss1} KiB)")
    fds2 = poll(lambda: (lambda v: v if v <= fds0 + 2 else None)(proc_fds(pid)), 10,
                what=f"fds back to {fds0}")
    print(f"after close: RSS {rss2} KiB, fds {fds2}")
    assert_serving(srv)


def test_max_buffered_memory_refuses_new_uploads_with_refused_stream(hearthd):
    # 1 MiB for every connection's bodies: sixteen 64 KiB reservations, then REFUSED_STREAM.
    srv = hearthd("basic:app", workers=1, toml='[http]\nmax_buffered_memory = "1MiB"\n')
    a = raw_h2_socket(srv.port)
    b = raw_h2_socket(srv.port)
    buf_a, buf_b, dec_b = bytearray(), bytearray(), hpack.Decoder()
    try:
        # 10 stalled uploads on each connection, declaring 1 MB: 20 x 64 KiB wanted, 16 fit.
        a.sendall(b"".join(post_headers(1 + 2 * i, 1_000_000) for i in range(10)))
        time.sleep(0.3)
        b.sendall(b"".join(post_headers(1 + 2 * i, 1_000_000) for i in range(10)))
        b.settimeout(5)
        resets = {}
        while len(resets) < 4:
            f = read_frame(b, buf_b)
            assert f is not None, "closed"
            if f[0] == RST_STREAM:
                resets[f[2]] = struct.unpack(">I", f[3])[0]
        assert sorted(resets) == [13, 15, 17, 19], resets  # b's 7th..10th upload
        assert set(resets.values()) == {REFUSED_STREAM}, resets
        # A request without a body needs no reservation: still served.
        with H2Client(srv.port) as c:
            assert c.request("GET", "/").status == 200
        # Closing connection a gives its 10 reservations back: b's next upload is admitted.
        a.close()
        time.sleep(0.5)
        body = b"x" * 1000
        b.sendall(post_headers(21, len(body)) + frame(DATA, END_STREAM, 21, body))
        status = None
        while status is None:
            f = read_frame(b, buf_b)
            assert f is not None, "closed"
            assert not (f[0] == RST_STREAM and f[2] == 21), "stream 21 refused after a's close"
            if f[0] == HEADERS and f[2] == 21:
                status = dict(dec_b.decode(f[3])).get(":status")
        assert status == "200"
    finally:
        a.close()
        b.close()


# --- a slow HTTP/2 reader: the response waits in the worker, not in the daemon ------

def test_slow_h2_reader_pauses_the_worker_instead_of_buffering_the_response(hearthd):
    # An h2 client that opens 3 streams for 8 MiB each and reads nothing: its flow-control
    # window (64 KiB) stops nghttp2, and each stream's buffer stops at response_buffer_size
    # (1 MiB) because the worker is paused. Without that, the daemon held every response whole
    # (24 MiB; the bound below is 12 MiB). The worker's `timeout` keeps running while it is
    # paused (a slow client never holds a worker longer than that): give this slow Python
    # client room (the pure-Python h2 client reading 24 MiB from an ASan hearthd on a loaded
    # machine took over 60 s once, with 3 x 16 MiB).
    size = 8 * MiB
    srv = hearthd("basic:app", "--threads", "4", workers=1, toml='timeout = "120s"\n' + timeouts_toml())
    pid = srv.proc.pid
    rss0 = proc_rss_kib(pid)
    with H2Client(srv.port, timeout=60) as c:
        sids = [c.start("GET", f"/big?size={size}") for _ in range(3)]
        time.sleep(3.0)  # the workers write as fast as they may; the client reads nothing
        rss1 = proc_rss_kib(pid)
        assert_serving(srv)  # others are served meanwhile
        results = [c.wait(sid, timeout=120) for sid in sids]
    print(f"\nslow h2 reader: RSS {rss0} -> {rss1} KiB while 3 x {size >> 20} MiB waited")
    for r in results:
        assert r.status == 200 and r.reset is None, r
        assert len(r.body) == size and r.body == b"b" * size
    if under_asan(pid):
        # ASan's quarantine kept 13 MiB of freed buffers resident here once (3 x 8 MiB
        # streamed through): .ci/run checks this bound against the Release hearthd.
        warnings.warn("RSS bound of the slow h2 reader not checked under ASan (.ci/run checks it on the Release build)")
    else:
        assert rss1 - rss0 < 12 * 1024, f"RSS grew {rss0} -> {rss1} KiB: responses buffered whole"
