"""A slot socket with a reusable receive buffer.

The request loop reads the frame header and the environ block into ``buf``; body bytes
that arrived in the same ``recv_into`` stay in ``buf[pos:end]``. :class:`wsgi.Input` reads
the body only through the public methods below (``take_buffered``, ``take_line``,
``recv_into``, ``skip``): buffered bytes first, then the socket directly.
"""

import socket

from .protocol import CLIENT_GONE, HEADER, HEADER_SIZE, REQUEST

BUF_SIZE = 64 * 1024
# A buffer grown for a huge environ is dropped again once idle above this size.
BUF_KEEP = 1024 * 1024

_PEEK = socket.MSG_PEEK | socket.MSG_DONTWAIT


def _recv_more(conn, need):
    """Without blocking, try to hold ``need`` bytes from ``pos``: compacts the buffer (never
    grows it) and receives once. False if the socket is at EOF or in error."""
    if len(conn.buf) - conn.pos < need:
        avail = conn.end - conn.pos
        if need > len(conn.buf):
            return True  # cannot hold it: looked at again when the socket is read
        conn.buf[:avail] = conn.buf[conn.pos:conn.end]
        conn.pos, conn.end = 0, avail
    try:
        n = conn.sock.recv_into(conn.view[conn.end:], 0, socket.MSG_DONTWAIT)
    except (BlockingIOError, InterruptedError):
        return True
    except OSError:
        return False
    if not n:
        return False
    conn.end += n
    return True


def poll_client_gone(conn, skip_withdrawn=False):
    """True when the daemon sent CLIENT_GONE for the request in flight (then consumed), or
    is gone itself (EOF, an error). Never blocks. ``conn`` has ``sock``, ``buf``, ``view``,
    ``pos`` and ``end`` (a :class:`SlotConn` or an ASGI slot). Call it only once the
    request body was read whole: CLIENT_GONE is the one frame the daemon sends during an
    exchange, so it is then the next thing on the socket (docs/worker-protocol.md).

    WSGI with dispatch ahead (``skip_withdrawn``, a :class:`SlotConn`): the next REQUEST
    may be there first. One the daemon took back is a bodiless REQUEST with its own
    CLIENT_GONE right behind it: that pair is consumed (``owed_ends`` counts the bare
    RESPONSE_END the worker sends for it after the current response) and the search goes
    on behind it. Any other REQUEST is left buffered for the next exchange."""
    while True:
        if conn.end - conn.pos < HEADER_SIZE:
            if conn.pos == conn.end:
                conn.pos = conn.end = 0
            if not _recv_more(conn, HEADER_SIZE):
                return True  # EOF or error: the daemon is gone; the next send reports it
            if conn.end - conn.pos < HEADER_SIZE:
                return False
        ftype = conn.buf[conn.pos]
        if ftype == CLIENT_GONE:
            conn.pos += HEADER_SIZE
            return True
        if ftype != REQUEST or not skip_withdrawn:
            return False
        _t, _f, _r, length, body_len = HEADER.unpack_from(conn.buf, conn.pos)
        if body_len:
            return False
        need = HEADER_SIZE + length + HEADER_SIZE
        if conn.end - conn.pos < need:
            if not _recv_more(conn, need):
                return True
            if conn.end - conn.pos < need:
                return False
        if conn.buf[conn.pos + HEADER_SIZE + length] != CLIENT_GONE:
            return False
        conn.pos += need
        conn.owed_ends += 1


class SlotClosed(BaseException):
    """EOF or an error on the slot socket: the daemon is gone or gave up on us.

    A BaseException so that an app's ``except Exception`` around ``wsgi.input.read()``
    or ``write()`` cannot swallow it.
    """


class SlotConn:
    __slots__ = ("sock", "buf", "view", "pos", "end", "owed_ends")

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray(BUF_SIZE)
        self.view = memoryview(self.buf)
        self.pos = 0
        self.end = 0
        self.owed_ends = 0  # bare RESPONSE_ENDs for requests skipped during this exchange

    def fill(self, need):
        """Make ``end - pos >= need``, compacting or growing ``buf`` as needed."""
        buf = self.buf
        pos = self.pos
        end = self.end
        if pos + need > len(buf):
            avail = end - pos
            if need > len(buf):
                grown = bytearray(need)
                grown[:avail] = self.view[pos:end]
                self.buf = buf = grown
                self.view = memoryview(grown)
            else:
                buf[:avail] = buf[pos:end]
            self.pos = pos = 0
            self.end = end = avail
        view = self.view
        recv_into = self.sock.recv_into
        while end - pos < need:
            try:
                n = recv_into(view[end:])
            except OSError as exc:
                raise SlotClosed(str(exc)) from None
            if not n:
                raise SlotClosed("EOF")
            end += n
            self.end = end

    def recv_some(self):
        """Buffer is empty: reset it and receive at least one byte."""
        self.pos = self.end = 0
        try:
            n = self.sock.recv_into(self.view)
        except OSError as exc:
            raise SlotClosed(str(exc)) from None
        if not n:
            raise SlotClosed("EOF")
        self.end = n

    def reset_if_idle(self):
        if self.pos == self.end:
            self.pos = self.end = 0
            if len(self.buf) > BUF_KEEP:
                self.buf = bytearray(BUF_SIZE)
                self.view = memoryview(self.buf)

    def has_pending(self):
        """Bytes buffered or waiting in the socket (used to decide 'idle' on SIGTERM)."""
        if self.pos < self.end:
            return True
        try:
            return bool(self.sock.recv(1, _PEEK))
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            return False

    def client_gone(self):
        """See :func:`poll_client_gone` (a WSGI slot: withdrawn requests skipped)."""
        return poll_client_gone(self, True)

    # -- the request body, for wsgi.Input ------------------------------------------------

    def take_buffered(self, size):
        """Up to ``size`` buffered bytes (possibly none), consumed; never reads the socket."""
        pos = self.pos
        end = self.end
        if end - pos > size:
            self.pos = pos + size
            return bytes(self.view[pos:pos + size])
        self.pos = self.end = 0
        return bytes(self.view[pos:end])

    def take_line(self, limit):
        """Up to ``limit`` (> 0) bytes, ending at the first newline among them if there is
        one; receives first if nothing is buffered. Consumed; at least one byte."""
        pos = self.pos
        avail = self.end - pos
        if not avail:
            self.recv_some()
            pos = 0
            avail = self.end
        if avail > limit:
            avail = limit
        i = self.buf.find(b"\n", pos, pos + avail)
        n = i + 1 - pos if i >= 0 else avail
        self.pos = pos + n
        return bytes(self.view[pos:pos + n])

    def recv_into(self, view, nbytes=0):
        """Receive from the socket into ``view``, past the buffer; at least one byte."""
        try:
            n = self.sock.recv_into(view, nbytes)
        except OSError as exc:
            raise SlotClosed(str(exc)) from None
        if not n:
            raise SlotClosed("EOF in request body")
        return n

    def recv_bytes(self, size):
        """Up to ``size`` bytes straight from the socket, past the buffer, as one bytes
        object: with MSG_WAITALL all of them unless a signal or EOF cuts the wait short
        (no buffer to allocate and copy out of). At least one byte."""
        try:
            data = self.sock.recv(size, socket.MSG_WAITALL)
        except OSError as exc:
            raise SlotClosed(str(exc)) from None
        if not data:
            raise SlotClosed("EOF in request body")
        return data

    def sendmsg_all(self, parts):
        """Send the buffers of ``parts`` in order, as ``sendall(b"".join(parts))`` without
        the join's copy: one sendmsg, and the rest (after a signal cut it short) by sendall."""
        try:
            sent = self.sock.sendmsg(parts)
            for part in parts:
                n = len(part)
                if sent >= n:
                    sent -= n
                    continue
                self.sock.sendall(memoryview(part)[sent:])
                sent = 0
        except OSError as exc:
            raise SlotClosed(str(exc)) from None

    def skip(self, count):
        """Discard ``count`` bytes: buffered ones first, then read from the socket."""
        avail = self.end - self.pos
        if avail >= count:
            self.pos += count
            return
        count -= avail
        self.pos = self.end = 0
        view = self.view
        size = len(view)
        while count:
            count -= self.recv_into(view, count if count < size else size)

    def sendall(self, data):
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise SlotClosed(str(exc)) from None
