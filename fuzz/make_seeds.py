#!/usr/bin/env python3
"""Regenerates the small seed corpora under fuzz/corpus/ (checked in; run again after
the smuggling corpus or the worker protocol changes). libFuzzer adds what it finds to
build-fuzz/corpus/<target>/, not here: seeds stay small and reviewable.

    /usr/bin/python3 fuzz/make_seeds.py
"""
import hashlib
import pathlib
import struct
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / "fuzz" / "corpus"
sys.path.insert(0, str(ROOT / "tests" / "integration"))
from test_smuggling import CASES, load  # noqa: E402  (the corpus decoder)


def write(target, data):
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()[:16]).write_bytes(data)


def http1():
    # First byte: read size - 1 (0xff = 256-byte reads, 0x00 = byte by byte).
    for path in CASES:
        _, raw = load(path)
        if len(raw) <= 4096:
            write("http1_request", b"\xff" + raw)
    valid = [
        b"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GET /a?b=c HTTP/1.0\r\n\r\n",
        b"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
        b"POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n0\r\nT: v\r\n\r\n",
        b"\r\nGET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
        b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GET http://h/x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n",
    ]
    for raw in valid:
        write("http1_request", b"\x00" + raw)
        write("http1_request", b"\x06" + raw)


def frame(t, payload, flags=0, aux=0):
    return struct.pack("<BBHIQ", t, flags, 0, len(payload), aux) + payload


def protocol():
    # First byte: piece size for the split feed; the rest is one byte stream.
    write("worker_protocol", b"\x00" + frame(0x30, b'{"pid": 12, "worker_id": 1, "boot_ms": 3}'))
    write("worker_protocol", b"\x03" + frame(0x32, b"200 OK\0Content-Type\0text/plain\0X-A\0b")
          + frame(0x33, b"hello") + frame(0x33, b"") + frame(0x34, b"", flags=1))
    write("worker_protocol", b"\x07" + frame(0x10, b'{"pid": 9, "python": "3.11", "preload": true}')
          + frame(0x12, b'{"worker_id": 2, "pid": 10}') + frame(0x13, b'{"worker_id": 3, "error": "x\\"y"}'))
    write("worker_protocol", b"\x01" + frame(0x20, b"REQUEST_METHOD\0GET\0PATH_INFO\0/", aux=4) + b"body")
    write("worker_protocol", b"\x00" + frame(0x31, b"Traceback ...") + b"\x99" + b"\0" * 15)
    write("worker_protocol", b"\x02" + struct.pack("<BBHIQ", 0x32, 0, 0, 0xffffffff, 0))


def config():
    write("config_toml", (ROOT / "conf" / "hearth.toml").read_bytes())
    for text in [
        'app = "m:app"\nworkers = 3\n[http]\nmax_body_size = "1MiB"\nheader_timeout = "2s"\n',
        'binds = ["127.0.0.1:0", "unix:/tmp/x.sock"]\n[env]\nA = "b"\n',
        'workers = "x"\n[http]\nmax_body_sise = 1\n',
        '[health]\nwarmup = [{ path = "/", method = "GET" }]\n',
        'a = [1, [2, {b = 3}]]\nc = 1979-05-27T07:32:00Z\nd = """x\ny"""\ne = 0x1f\n',
    ]:
        write("config_toml", text.encode())


def proxy_v2(ver_cmd, fam, body):
    sig = b"\r\n\r\n\x00\r\nQUIT\n"
    return sig + bytes([ver_cmd, fam]) + struct.pack(">H", len(body)) + body


def proxy():
    for line in [
        b"PROXY TCP4 203.0.113.7 10.0.0.1 56324 443\r\nGET / HTTP/1.1\r\n",
        b"PROXY TCP6 2001:db8::1 ::1 1 65535\r\n",
        b"PROXY UNKNOWN\r\n\x16\x03\x01",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 1 70000\r\n",
    ]:
        write("proxy_protocol", line)
    inet4 = bytes([192, 0, 2, 10, 10, 0, 0, 1, 0xC7, 0x38, 0x01, 0xBB])
    inet6 = bytes(15) + b"\x07" + bytes(15) + b"\x01" + b"\x12\x34\x00\x50"
    tlvs = b"\x02\x00\x0bexample.com" + b"\xea\x00\x05\x01vpce" + b"\x04\x00\x00"
    write("proxy_protocol", proxy_v2(0x21, 0x11, inet4))
    write("proxy_protocol", proxy_v2(0x21, 0x11, inet4 + tlvs) + b"\x16\x03\x01")
    write("proxy_protocol", proxy_v2(0x21, 0x21, inet6 + tlvs))
    write("proxy_protocol", proxy_v2(0x20, 0x00, b""))
    write("proxy_protocol", proxy_v2(0x21, 0x31, bytes(216)))
    write("proxy_protocol", proxy_v2(0x21, 0x11, inet4 + b"\x02\x00\x09ab"))


def h2frame(t, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([t, flags]) + struct.pack(">I", sid) + payload


def h2():
    # After the client preface (the listener has read it): SETTINGS, requests, floods.
    import hpack
    get = hpack.Encoder().encode([(":method", "GET"), (":path", "/a"), (":scheme", "http"),
                                  (":authority", "h")])
    post = hpack.Encoder().encode([(":method", "POST"), (":path", "/p"), (":scheme", "http"),
                                   (":authority", "h"), ("content-length", "10")])
    settings = h2frame(4, 0, 0, struct.pack(">HI", 4, 65535)) + h2frame(4, 1, 0)
    write("h2_session", b"\xff" + settings + h2frame(1, 5, 1, get))
    write("h2_session", b"\x00" + settings + h2frame(1, 4, 1, post) + h2frame(0, 0, 1, b"abc")
          + h2frame(0, 1, 1, b"defghij"))
    write("h2_session", b"\x08" + settings + b"".join(
        h2frame(1, 5, 1 + 2 * i, get) + h2frame(3, 0, 1 + 2 * i, struct.pack(">I", 8))
        for i in range(40)))
    write("h2_session", b"\x10" + settings + h2frame(1, 1, 1, get[:3])
          + b"".join(h2frame(9, 0, 1, get[3 + i:4 + i]) for i in range(len(get) - 4))
          + h2frame(9, 4, 1, get[-1:]))
    write("h2_session", b"\x03" + settings + b"".join(h2frame(1, 4, 1 + 2 * i, post) for i in range(20))
          + h2frame(8, 0, 0, struct.pack(">I", 1 << 20)) + h2frame(6, 0, 0, b"12345678")
          + h2frame(7, 0, 0, struct.pack(">II", 0, 0)))


def ws_frame(op, payload, fin=True, key=b"\x01\x02\x03\x04"):
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | op])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    return head + key + bytes(c ^ key[i % 4] for i, c in enumerate(payload))


def websocket():
    # First byte: read size - 1 and (low 4 bits) log2 of max_message_size.
    write("ws_frame_parser", b"\x0a" + ws_frame(1, b"hello") + ws_frame(2, b"\x00\xff"))
    write("ws_frame_parser", b"\x00" + ws_frame(1, b"he", False) + ws_frame(9, b"p") + ws_frame(0, "llo\u20ac".encode()))
    write("ws_frame_parser", b"\x3f" + ws_frame(2, bytes(300)) + ws_frame(8, struct.pack("!H", 1000) + b"bye"))
    write("ws_frame_parser", b"\x0f" + ws_frame(1, b"\xff") + ws_frame(10, b""))
    write("ws_frame_parser", b"\x05" + bytes([0x81, 0x03]) + b"abc")  # unmasked


if __name__ == "__main__":
    http1()
    protocol()
    config()
    proxy()
    h2()
    websocket()
