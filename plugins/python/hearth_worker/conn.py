"""A slot socket with a reusable receive buffer.

The request loop reads the frame header and the environ block into ``buf``; body bytes
that arrived in the same ``recv_into`` stay in ``buf[pos:end]`` and :class:`wsgi.Input`
consumes them before reading the socket directly.
"""

import socket

BUF_SIZE = 64 * 1024
# A buffer grown for a huge environ is dropped again once idle above this size.
BUF_KEEP = 1024 * 1024

_PEEK = socket.MSG_PEEK | socket.MSG_DONTWAIT


class SlotClosed(BaseException):
    """EOF or an error on the slot socket: the daemon is gone or gave up on us.

    A BaseException so that an app's ``except Exception`` around ``wsgi.input.read()``
    or ``write()`` cannot swallow it.
    """


class SlotConn:
    __slots__ = ("sock", "buf", "view", "pos", "end")

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray(BUF_SIZE)
        self.view = memoryview(self.buf)
        self.pos = 0
        self.end = 0

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

    def sendall(self, data):
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise SlotClosed(str(exc)) from None
