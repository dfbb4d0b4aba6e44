"""Helpers for the health / warm-up / keep-warm / metrics tests (test_health.py,
test_warmup.py, test_keepwarm.py, test_metrics.py): a loopback HTTP server that
records requests, a /metrics parser, hearthctl status, and the apps' event files."""
import http.server
import json
import math
import pathlib
import re
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

from conftest import HEARTHD, poll

HEARTHCTL = HEARTHD.parent / "hearthctl"


# --- a loopback HTTP server in a thread ------------------------------------------------

class RecordingServer:
    """http.server on 127.0.0.1:0 in a thread; records every GET as a dict
    {path, headers, t} and answers `self.status` (settable while running)."""

    def __init__(self, status=200):
        self.status = status
        self.requests = []
        self._lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                with outer._lock:
                    outer.requests.append({"path": self.path, "headers": dict(self.headers),
                                           "t": time.monotonic()})
                    status = outer.status
                body = b"pong\n"
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)

    def snapshot(self):
        with self._lock:
            return list(self.requests)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- HTTP ---------------------------------------------------------------------------

def fetch(url, headers=None, timeout=10.0):
    """(status, headers, body) of a GET; 4xx/5xx are answers, not exceptions."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


# --- /metrics -------------------------------------------------------------------------

_SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$')
_LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(srv):
    status, _, body = fetch(srv.admin_url + "/metrics", timeout=5)
    assert status == 200, status
    return body.decode()


def parse_metrics(text):
    """[(name, {label: value}, float)] for every sample line."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE_RE.match(line)
        assert m, f"unparseable sample line: {line!r}"
        labels = dict(_LABEL_RE.findall(m.group(3) or ""))
        out.append((m.group(1), labels, float(m.group(4))))
    return out


def metric(text, name, **labels):
    """Sum of the samples of `name` whose labels include `labels` (None if none)."""
    values = [v for n, l, v in parse_metrics(text)
              if n == name and all(l.get(k) == str(want) for k, want in labels.items())]
    return sum(values) if values else None


def metric_at_least(srv, name, minimum, timeout=10.0, **labels):
    """Poll /metrics until `name{labels}` >= minimum; returns the value."""
    def ok():
        v = metric(scrape(srv), name, **labels)
        return v if v is not None and v >= minimum else None
    return poll(ok, timeout, interval=0.1, what=f"{name}{labels} >= {minimum}")


def finite(x):
    return isinstance(x, float) and math.isfinite(x)


# --- hearthctl ------------------------------------------------------------------------

def status_json(socket_path):
    out = subprocess.run([str(HEARTHCTL), "--socket", str(socket_path), "--json", "status"],
                         capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, f"hearthctl status failed: {out.returncode} {out.stderr}"
    return json.loads(out.stdout)


# --- the apps' event files ------------------------------------------------------------

def events(path):
    p = pathlib.Path(path)
    if not p.exists():
        return []
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]
