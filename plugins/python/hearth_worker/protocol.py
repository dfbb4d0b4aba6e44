"""Framing of docs/worker-protocol.md: a 16-byte little-endian header, then a payload.

Pure helpers only; the hot request loop in :mod:`worker` uses ``HEADER`` directly.
"""

import array
import json
from operator import index
import os
import socket
import struct

from .speedups import SPEEDUPS

# type, flags, reserved, length, aux
HEADER = struct.Struct("<BBHIQ")
HEADER_SIZE = HEADER.size  # 16
MAX_PAYLOAD = 64 * 1024 * 1024

# Control channel (daemon <-> zygote).
FORK = 0x01
SHUTDOWN = 0x02
ZYGOTE_READY = 0x10
ZYGOTE_FAILED = 0x11
FORKED = 0x12
FORK_FAILED = 0x13

# Slot sockets (daemon <-> worker).
REQUEST = 0x20
CLIENT_GONE = 0x21  # daemon -> worker: the client of the request on this slot went away
WORKER_READY = 0x30
WORKER_FAILED = 0x31
RESPONSE_START = 0x32
RESPONSE_BODY = 0x33
RESPONSE_END = 0x34
# WebSockets (a REQUEST with hearth.websocket=1; asgi_websocket.py).
WS_RECEIVE = 0x22     # daemon -> worker: a client message; flags & FLAG_TEXT = text
WS_DISCONNECT = 0x23  # daemon -> worker: the client closed or is gone; aux = code
WS_ACCEPT = 0x35      # worker -> daemon: b"subprotocol\0name\0value..."
WS_SEND = 0x36        # worker -> daemon: a message; flags & FLAG_TEXT = text
WS_CLOSE = 0x37       # worker -> daemon: aux = code, payload = reason (UTF-8); before WS_ACCEPT: 403

FLAG_ABORTED = 1   # RESPONSE_END: the app failed after the response started
FLAG_STREAM = 2    # RESPONSE_START: a streamed response (SSE, X-Accel-Buffering: no, ASGI more_body)
FLAG_TEXT = 1      # WS_RECEIVE, WS_SEND: a text message

CONTROL_TO_ZYGOTE = frozenset((FORK, SHUTDOWN))

# Largest number of slot sockets one FORK may carry; bounds the ancillary buffer.
MAX_FDS = 256

_CMSG_CLOEXEC = getattr(socket, "MSG_CMSG_CLOEXEC", 0)


class ProtocolError(Exception):
    """The peer sent something the protocol does not allow; close the channel."""


class PeerClosed(Exception):
    """EOF (or a reset) on a channel: the daemon is gone."""


def frame(ftype, payload=b"", flags=0, aux=0):
    """Header + payload as one bytes object."""
    return HEADER.pack(ftype, flags, 0, len(payload), aux) + payload


def json_frame(ftype, obj):
    return frame(ftype, json.dumps(obj, separators=(",", ":")).encode("utf-8"))


def text_frame(ftype, text):
    data = text.encode("utf-8", "replace")
    if len(data) > MAX_PAYLOAD:
        data = data[-MAX_PAYLOAD:]
    return frame(ftype, data)


def _fds_from_ancdata(ancdata, fds):
    for level, ctype, cdata in ancdata:
        if level == socket.SOL_SOCKET and ctype == socket.SCM_RIGHTS:
            arr = array.array("i")
            usable = len(cdata) - (len(cdata) % arr.itemsize)
            arr.frombytes(cdata[:usable])
            fds.extend(arr)


def _close_all(fds):
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def _recvmsg_exact(sock, n, fds, ancbufsize):
    """Read exactly n bytes with recvmsg, collecting any SCM_RIGHTS fds into ``fds``."""
    data = bytearray()
    while len(data) < n:
        try:
            msg, ancdata, flags, _addr = sock.recvmsg(n - len(data), ancbufsize, _CMSG_CLOEXEC)
        except InterruptedError:  # pragma: no cover - PEP 475 retries for us
            continue
        except (ConnectionError, OSError) as exc:
            raise PeerClosed(str(exc)) from exc
        _fds_from_ancdata(ancdata, fds)
        if flags & socket.MSG_CTRUNC:
            raise ProtocolError("ancillary data truncated (more than %d fds?)" % MAX_FDS)
        if not msg:
            raise PeerClosed("EOF")
        data += msg
    return bytes(data)


def recv_control_frame(sock):
    """Read one frame from the control socket, always with recvmsg and ancillary space.

    The daemon attaches FORK's slot sockets to the first byte of the header, so a plain
    recv() would silently drop them. Returns (type, flags, aux, payload, fds); the caller
    owns the fds. On any error the fds received so far are closed.
    """
    fds = []
    ancbufsize = socket.CMSG_SPACE(MAX_FDS * array.array("i").itemsize)
    try:
        head = _recvmsg_exact(sock, HEADER_SIZE, fds, ancbufsize)
        ftype, flags, _reserved, length, aux = HEADER.unpack(head)
        if ftype not in CONTROL_TO_ZYGOTE:
            raise ProtocolError("unknown control frame type 0x%02x" % ftype)
        if length > MAX_PAYLOAD:
            raise ProtocolError("control payload of %d bytes exceeds 64 MiB" % length)
        payload = _recvmsg_exact(sock, length, fds, ancbufsize) if length else b""
    except BaseException:
        _close_all(fds)
        raise
    return ftype, flags, aux, payload, fds


def encode_pairs(pairs):
    """``key\\0value\\0...`` latin-1 block (used by tests and tools to build an environ)."""
    parts = []
    for k, v in pairs:
        parts.append(k)
        parts.append(v)
    return "\0".join(parts).encode("latin-1")


def decode_environ(buf, start, length, base=None):
    """The environ block ``buf[start:start + length]`` (latin-1 ``key\\0value\\0...``) as a
    dict: a copy of ``base`` (None: empty) updated with the pairs; a trailing key without a
    value is dropped. The C accelerator's ``decode_environ`` returns the same, checks its
    arguments the same way (TypeError, ValueError for a negative start or length) and
    replaces this function when it loaded (speedups.py)."""
    if base is None:
        env = {}
    elif type(base) is dict:
        env = base.copy()
    else:
        raise TypeError("base must be a dict or None")
    if index(start) < 0 or index(length) < 0:
        raise ValueError("start and length must be >= 0")
    it = iter(str(memoryview(buf)[start:start + length], "latin-1").split("\0"))
    env.update(zip(it, it))
    return env


decode_environ_py = decode_environ
if SPEEDUPS is not None:
    decode_environ = SPEEDUPS.decode_environ
