"""A tiny, strict HTTP/1.1 client over raw sockets for framing tests.

http.client cannot read pipelined responses (each response gets its own buffered
reader), so the integration tests use this: one buffer per connection, responses
parsed in order, and a timeout on every socket operation.
"""
import socket
import time

DEFAULT_TIMEOUT = 10.0


class Response:
    def __init__(self, version, status, reason, headers, body, chunked, raw_head):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value) in arrival order
        self.body = body
        self.chunked = chunked
        self.raw_head = raw_head

    def header(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def headers_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def json(self):
        import json
        return json.loads(self.body)

    def __repr__(self):
        return f"<Response {self.status} {self.reason!r} {len(self.body)} bytes>"


class ConnectionClosed(Exception):
    """The peer closed (or reset) the connection before a full response arrived."""


class Conn:
    def __init__(self, port, host="127.0.0.1", timeout=DEFAULT_TIMEOUT, rcvbuf=None):
        if rcvbuf is None:
            self.sock = socket.create_connection((host, port), timeout=timeout)
        else:  # a small receive window makes a slow reader (set before connect)
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self.sock.settimeout(timeout)
            self.sock.connect((host, port))
        self.sock.settimeout(timeout)
        self.buf = b""
        self.timeout = timeout

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def local_port(self):
        return self.sock.getsockname()[1]

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        if not data:
            raise ConnectionClosed(f"connection closed; unparsed bytes: {self.buf[:200]!r}")
        self.buf += data

    def _line(self, limit=1 << 20):
        while b"\r\n" not in self.buf:
            if len(self.buf) > limit:
                raise ValueError("line too long")
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_head(self):
        """Status line and headers of the next response (may be a 1xx)."""
        start = self._line()
        parts = start.decode("latin-1").split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise ValueError(f"bad status line {start!r}")
        version, status = parts[0], int(parts[1])
        reason = parts[2] if len(parts) > 2 else ""
        headers = []
        raw = [start]
        while True:
            line = self._line()
            raw.append(line)
            if not line:
                break
            name, sep, value = line.decode("latin-1").partition(":")
            if not sep:
                raise ValueError(f"bad header line {line!r}")
            headers.append((name.strip(), value.strip()))
        return version, status, reason, headers, b"\r\n".join(raw)

    def read_response(self, method="GET", skip_1xx=True):
        while True:
            version, status, reason, headers, raw = self.read_head()
            if 100 <= status < 200 and skip_1xx:
                continue
            break
        hmap = {}
        for k, v in headers:
            hmap.setdefault(k.lower(), v)
        chunked = False
        if method == "HEAD" or 100 <= status < 200 or status in (204, 304):
            body = b""
        elif "chunked" in hmap.get("transfer-encoding", "").lower():
            chunked = True
            parts = []
            while True:
                size_line = self._line().split(b";", 1)[0].strip()
                size = int(size_line, 16)
                if size == 0:
                    while self._line():  # trailers up to the empty line
                        pass
                    break
                parts.append(self._exact(size))
                if self._exact(2) != b"\r\n":
                    raise ValueError("chunk not followed by CRLF")
            body = b"".join(parts)
        elif "content-length" in hmap:
            body = self._exact(int(hmap["content-length"]))
        else:
            body = self.read_until_close()
        return Response(version, status, reason, headers, body, chunked, raw)

    def read_until_close(self, timeout=None):
        """Everything until EOF (or reset); raises socket.timeout if it never closes."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout("connection still open")
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                data = b""
            finally:
                self.sock.settimeout(self.timeout)
            if not data:
                out, self.buf = self.buf, b""
                return out
            self.buf += data

    def closed_by_peer(self, timeout=5.0):
        """True if the server closes the connection within `timeout` with nothing
        more to say; False if it stays open. Bytes that arrive are kept in the buffer."""
        try:
            extra = self.read_until_close(timeout)
        except socket.timeout:
            return False
        self.buf = extra
        return True


def recv_until_close(sock):
    """Every byte `sock` (a plain or TLS socket) sends until the peer closes."""
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def request(method, path, headers=(), body=b"", version="HTTP/1.1", host="127.0.0.1"):
    """Bytes of one request. Content-Length is added for a non-empty body unless a
    framing header is given explicitly."""
    lines = [f"{method} {path} {version}"]
    names = {k.lower() for k, _ in headers}
    if "host" not in names and host is not None:
        lines.append(f"Host: {host}")
    lines += [f"{k}: {v}" for k, v in headers]
    if body and "content-length" not in names and "transfer-encoding" not in names:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def chunked(*pieces):
    out = b""
    for p in pieces:
        out += b"%x\r\n" % len(p) + p + b"\r\n"
    return out + b"0\r\n\r\n"


def fetch(port, method, path, headers=(), body=b"", timeout=DEFAULT_TIMEOUT):
    """One request on a fresh connection (Connection: close)."""
    with Conn(port, timeout=timeout) as c:
        c.send(request(method, path, [*headers, ("Connection", "close")], body))
        return c.read_response(method)


def get(port, path, headers=(), timeout=DEFAULT_TIMEOUT):
    return fetch(port, "GET", path, headers, timeout=timeout)
