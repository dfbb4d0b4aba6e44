"""PEP 3333 pieces handed to the app: wsgi.input, wsgi.errors, wsgi.file_wrapper, and the
status/header validation + encoding done when the app calls start_response()."""

import re
import sys

from .protocol import FLAG_STREAM, HEADER, MAX_PAYLOAD, RESPONSE_START


class Input:
    """``wsgi.input``: the request body, read from the slot buffer and then the socket.

    Never reads more than the body length (``aux`` of REQUEST); at the end it behaves as
    EOF (``wsgi.input_terminated``), so ``read()`` without a size is safe.
    """

    __slots__ = ("_conn", "_remaining")

    def __init__(self, conn, length):
        self._conn = conn
        self._remaining = length

    def _take(self, size):
        # Exactly ``size`` (<= remaining) bytes: buffered first, then the socket.
        conn = self._conn
        head = conn.take_buffered(size)
        got = len(head)
        # Count only what we have: a SlotClosed mid-body must not leave _remaining high.
        self._remaining -= got
        if got == size:
            return head
        if not got:
            # Nothing buffered (a large body, past the first read): one recv of the
            # whole piece into its own bytes object.
            head = conn.recv_bytes(size)
            got = len(head)
            self._remaining -= got
            if got == size:
                return head
        out = bytearray(size)
        out[:got] = head
        view = memoryview(out)
        recv_into = conn.recv_into
        while got < size:
            n = recv_into(view[got:])
            got += n
            self._remaining -= n
        return bytes(out)

    def read(self, size=-1):
        rem = self._remaining
        if size is None or size < 0 or size > rem:
            size = rem
        if size <= 0:
            return b""
        return self._take(size)

    def readline(self, size=-1):
        rem = self._remaining
        if size is None or size < 0 or size > rem:
            size = rem
        if size <= 0:
            return b""
        take_line = self._conn.take_line
        chunks = None
        while True:
            piece = take_line(size)
            n = len(piece)
            self._remaining -= n
            size -= n
            newline = piece[-1] == 10  # b"\n"
            if chunks is None:
                if newline or not size:
                    return piece
                chunks = [piece]
            else:
                chunks.append(piece)
                if newline or not size:
                    return b"".join(chunks)

    def readlines(self, hint=-1):
        lines = []
        total = 0
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)
            total += len(line)
            if hint is not None and 0 < hint <= total:
                return lines

    def __iter__(self):
        return self

    def __next__(self):
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def drain(self):
        """Discard the unread rest of the body so the next frame starts where expected."""
        rem = self._remaining
        if not rem:
            return
        self._conn.skip(rem)
        self._remaining = 0


class ErrorStream:
    """``wsgi.errors``: text lines to stderr, each prefixed ``[worker N req RID] ``.

    One per slot; the request id is looked up when a line is written.
    """

    __slots__ = ("_slot", "_partial")

    def __init__(self, slot):
        self._slot = slot
        self._partial = ""

    def write(self, s):
        if type(s) is not str:
            raise TypeError("wsgi.errors.write() takes str, not %s" % type(s).__name__)
        if "\n" not in s:
            self._partial += s
            return len(s)
        lines = (self._partial + s).split("\n")
        self._partial = lines.pop()
        prefix = self._slot.log_prefix()
        sys.stderr.write("".join([prefix + line + "\n" for line in lines]))
        return len(s)

    def writelines(self, seq):
        for s in seq:
            self.write(s)

    def flush(self):
        if self._partial:
            self.write("\n")
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass


class FileWrapper:
    """``wsgi.file_wrapper``: iterate ``filelike.read(blksize)`` blocks; close() closes it."""

    __slots__ = ("filelike", "blksize")

    def __init__(self, filelike, blksize=8192):
        self.filelike = filelike
        self.blksize = blksize

    def __iter__(self):
        return self

    def __next__(self):
        data = self.filelike.read(self.blksize)
        if data:
            return data
        raise StopIteration

    def close(self):
        close = getattr(self.filelike, "close", None)
        if close is not None:
            close()


class BadResponse(ValueError):
    """The app passed start_response() a status or headers the protocol cannot carry."""


_NO_BODY_STATUS = frozenset((204, 304))
# What the daemon accepts as a header name: visible ASCII except ':' (no space, no tab).
_NAME_OK = re.compile(r"[\x21-\x39\x3b-\x7e]+").fullmatch


# Apps answer with the same few status/header combinations over and over; remember the
# encoded frame of validated ones. Keyed by the exact strings, so a hit is the same answer.
_START_CACHE = {}
_START_CACHE_MAX = 512


def cache_put(cache, key, value, limit):
    """Store ``value`` in a bounded cache (the runtime's caches of per-request encodings):
    one that already holds ``limit`` entries is emptied first."""
    if len(cache) >= limit:
        cache.clear()
    cache[key] = value


def encode_start(status, headers):
    """Validate start_response() arguments and build the RESPONSE_START frame.

    A streamed response (``X-Accel-Buffering: no`` or ``Content-Type: text/event-stream``,
    as nginx decides) gets FLAG_STREAM in the frame's flags; ``X-Accel-Buffering`` itself
    is dropped (nginx never passes it to the client either).

    Returns (frame_bytes, status_code, content_length or None). Raises TypeError or
    BadResponse (a ValueError), which the caller treats as an application error.
    """
    if type(headers) is list and type(status) is str:
        try:
            key = (status, *headers)
            hit = _START_CACHE.get(key)
        except TypeError:  # unhashable item: let the full check report it
            hit = key = None
        if hit is not None:
            return hit
        result = _encode_start(status, headers)
        if key is not None:
            cache_put(_START_CACHE, key, result, _START_CACHE_MAX)
        return result
    return _encode_start(status, headers)


def _encode_start(status, headers):
    if type(status) is not str:
        raise TypeError("status must be str, not %s" % type(status).__name__)
    code = status[:3]
    if (len(code) != 3 or not (code.isascii() and code.isdigit()) or code[0] == "0"
            or (len(status) > 3 and status[3] != " ")):
        raise BadResponse("bad status %r: expected '200 OK' form" % status)
    if type(headers) is not list:
        raise TypeError("response headers must be a list, not %s" % type(headers).__name__)
    parts = [status]
    append = parts.append
    content_length = None
    flags = 0
    kept = len(headers)
    for item in headers:
        if type(item) is not tuple or len(item) != 2:
            raise TypeError("each response header must be a (name, value) tuple, got %r" % (item,))
        name, value = item
        if type(name) is not str or type(value) is not str:
            raise TypeError("header name and value must be str, got %r" % (item,))
        if not _NAME_OK(name):
            raise BadResponse("bad header name %r: visible ASCII without ':' expected" % name)
        n = len(name)
        if n == 14 and name.lower() == "content-length":
            v = value.strip()
            if not (v.isascii() and v.isdigit()):
                raise BadResponse("bad Content-Length %r" % value)
            content_length = int(v)
        elif n == 17 and name.lower() == "x-accel-buffering":
            # nginx's switch, never sent to the client (nginx hides it too): "no" streams.
            if value.strip().lower() == "no":
                flags = FLAG_STREAM
            kept -= 1
            continue
        elif n == 12 and name.lower() == "content-type" and _is_event_stream(value):
            flags = FLAG_STREAM
        append(name)
        append(value)
    text = "\0".join(parts)
    if text.count("\0") != 2 * kept or "\n" in text or "\r" in text:
        raise BadResponse("status or header contains NUL, CR or LF: %r" % (parts,))
    try:
        payload = text.encode("latin-1")
    except UnicodeEncodeError:
        raise BadResponse("status and headers must be latin-1: %r" % (parts,)) from None
    if len(payload) > MAX_PAYLOAD:
        raise BadResponse("response headers exceed 64 MiB")
    return HEADER.pack(RESPONSE_START, flags, 0, len(payload), 0) + payload, int(code), content_length


def _is_event_stream(value):
    """``text/event-stream`` (server-sent events), with or without parameters."""
    return value.split(";", 1)[0].strip().lower() == "text/event-stream"


def is_stream(start_frame):
    """The RESPONSE_START frame asks for a streamed response (FLAG_STREAM)."""
    return bool(start_frame[1] & FLAG_STREAM)


def no_body_expected(method, code):
    """HEAD, 1xx, 204 and 304 answers carry no body whatever Content-Length says."""
    return method == "HEAD" or code < 200 or code in _NO_BODY_STATUS
