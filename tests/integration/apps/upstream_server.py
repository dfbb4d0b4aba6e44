"""A tiny HTTP/1.1 server for [[upstreams]] tests (tests/integration/test_upstreams.py).

Listens on 127.0.0.1:$PORT, or on the Unix socket $SOCKET, or on argv[1] (a port). Every
response is JSON: the method, path, the headers it got, its pid and $UPSTREAM_TAG. /healthz
answers 200, or 503 when $NEVER_READY is set or the file $NEVER_READY_FILE existed when
the server started; /slow?ms=N waits N ms first; a POST echoes
its body's length; /chunked and /close answer chunked and close-delimited bodies. Keep-alive
(HTTP/1.1), one thread per connection.
"""
import http.server
import json
import os
import socket
import socketserver
import sys
import time
import urllib.parse


NEVER_READY = bool(os.environ.get("NEVER_READY")) or (
    bool(os.environ.get("NEVER_READY_FILE")) and os.path.exists(os.environ["NEVER_READY_FILE"]))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("upstream_server: " + (fmt % args) + "\n")

    def _answer(self, status, doc, extra=()):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self):
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if url.path == "/healthz":
            if NEVER_READY:
                return self._answer(503, {"ready": False})
            return self._answer(200, {"ready": True})
        if url.path == "/slow":
            ms = int(urllib.parse.parse_qs(url.query).get("ms", ["100"])[0])
            time.sleep(ms / 1000)
        if url.path == "/sse":
            # Server-sent events: one event, then (once the file ?flag= exists) a second one.
            flag = urllib.parse.parse_qs(url.query)["flag"][0]
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i, event in enumerate((b"data: one\n\n", b"data: two\n\n")):
                if i == 1:
                    deadline = time.monotonic() + 30
                    while not os.path.exists(flag) and time.monotonic() < deadline:  # bounded
                        time.sleep(0.01)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            return
        if url.path == "/close":
            # Close-delimited: no Content-Length, no chunking, then the connection closes.
            self.close_connection = True
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"until the end")
            return
        if url.path == "/chunked":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for piece in (b"one ", b"two ", b"three"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
            return
        self._answer(200, {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body_length": len(body),
            "pid": os.getpid(),
            "tag": os.environ.get("UPSTREAM_TAG", ""),
        })

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle


class TCPServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self):
        conn, _ = self.socket.accept()
        return conn, ("unix", 0)


def main():
    if os.environ.get("SOCKET"):
        srv = UnixServer(os.environ["SOCKET"], Handler)
    else:
        port = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ["PORT"])
        srv = TCPServer(("127.0.0.1", port), Handler)
    sys.stderr.write(f"upstream_server: listening pid={os.getpid()}\n")
    sys.stderr.flush()
    srv.serve_forever()


if __name__ == "__main__":
    main()
