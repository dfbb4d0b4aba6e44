"""The request-smuggling corpus (tests/smuggling/*.http) against a real hearthd.

Every case is sent on its own connection to hearthd serving apps/recorder.py,
which appends each request that reaches it to a file. A case marked
`expect: reject` must get exactly one 4xx response, then the connection must be
closed by the daemon, and the app must have seen nothing. A case marked
`expect: accept` is legal HTTP whose safe reading is asserted instead: exactly
one request reaches the app, with the method, path and body length given by
`app-sees:`, no header named by `app-lacks:`, and nothing else (in particular no
/SMUGGLED request). After every case a control request must reach the recorder,
so a recorder that silently stopped working fails the test instead of passing it.

The file format (explicit escapes, so CRLF, NUL and friends survive editors and
git) is described in tests/smuggling/README.md.
"""
import json
import pathlib
import re
import socket
import time

import pytest

from hhttp import Conn

CORPUS = pathlib.Path(__file__).resolve().parents[1] / "smuggling"
CASES = sorted(CORPUS.glob("*.http"))
READ_TIMEOUT = 10.0
ACCEPT_GRACE = 0.3  # how long an accept case waits for an unexpected second response

# Small limits so the size cases are cheap; short timeouts because two cases end
# in 408 (Beast waits for a CRLF that never comes) and each costs body_timeout.
TOML = """
[http]
max_body_size = "1MiB"
header_timeout = "3s"
body_timeout = "3s"
"""

_ESC = re.compile(rb"\\(r|n|t|0|\\|x[0-9a-fA-F]{2})")
_REP = re.compile(r"\{\{(\d+)\*([^}]*)\}\}")


def decode(text):
    """Bytes of a corpus body: newlines dropped, {{N*s}} repeated, escapes decoded."""
    text = text.replace("\n", "")
    text = _REP.sub(lambda m: m.group(2) * int(m.group(1)), text)

    def esc(m):
        e = m.group(1)
        if e.startswith(b"x"):
            return bytes([int(e[1:], 16)])
        return {b"r": b"\r", b"n": b"\n", b"t": b"\t", b"0": b"\0", b"\\": b"\\"}[e]

    return _ESC.sub(esc, text.encode("latin-1"))


def load(path):
    meta, body = {}, []
    lines = path.read_text(encoding="latin-1").splitlines(keepends=True)
    i = 0
    while i < len(lines) and lines[i].startswith("#"):
        line = lines[i][1:].strip()
        key, sep, value = line.partition(":")
        if sep and key in ("expect", "app-sees", "app-lacks"):
            meta.setdefault(key, []).append(value.strip())
        else:
            meta.setdefault("why", []).append(line)
        i += 1
    body = "".join(lines[i:])
    return meta, decode(body)


def test_decode_format():
    assert decode("A\\r\\n\nB\\0\\x7f\\\\{{3*x}}\\t") == b"A\r\nB\0\x7f\\xxx\t"
    for path in CASES:
        meta, raw = load(path)
        assert len(meta.get("expect", [])) == 1, path.name
        assert re.fullmatch(r"reject( 4\d\d)?|accept", meta["expect"][0]), path.name
        if meta["expect"][0] == "accept":
            assert re.fullmatch(r"\S+ /\S* body=\d+", meta["app-sees"][0]), path.name
        assert raw, path.name
        assert b"\r\n" in raw or b"\n" in raw or b"\r" in raw, path.name


def test_corpus_size():
    assert len(CASES) >= 40


@pytest.fixture(scope="module")
def recorder(hearthd_module, tmp_path_factory):
    record = tmp_path_factory.mktemp("record") / "requests.jsonl"
    record.write_text("")
    srv = hearthd_module("recorder:app", "-e", f"HEARTH_TEST_RECORD={record}", workers=1,
                         ready_workers=1, toml=TOML)
    return srv, record


def records(record):
    return [json.loads(line) for line in record.read_text().splitlines() if line.strip()]


def read_all(sock, deadline):
    """Everything the daemon sends until it closes; (data, closed)."""
    data = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return data, False
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return data, False
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk


def parse_responses(data):
    """Splits a byte stream into (status, head, body) responses framed by Content-Length."""
    out = []
    while data:
        end = data.find(b"\r\n\r\n")
        assert end >= 0, f"incomplete response head: {data[:200]!r}"
        head = data[:end].decode("latin-1")
        m = re.match(r"HTTP/1\.[01] (\d{3}) ", head)
        assert m, f"not a status line: {head[:100]!r}"
        cl = re.search(r"(?im)^content-length:\s*(\d+)\s*$", head)
        assert cl, f"error response without Content-Length: {head!r}"
        n = int(cl.group(1))
        body = data[end + 4:end + 4 + n]
        out.append((int(m.group(1)), head, body))
        data = data[end + 4 + n:]
    return out


def complete_response_len(data):
    """Length of the first complete Content-Length-framed response in data, or None."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    cl = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", data[:end])
    if not cl:
        return None
    n = end + 4 + int(cl.group(1))
    return n if len(data) >= n else None


def send_case(port, raw, expect):
    """(bytes received, whether the daemon closed the connection).

    Reject cases read until the daemon closes (it must). Accept cases keep the
    connection open (a half-close counts as a client that left): they read one
    response, then wait a moment for anything more (a second response would be a
    request smuggled past the framing)."""
    with socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT) as s:
        try:
            s.sendall(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the daemon may answer and close before a large case is fully sent
        if expect.startswith("reject"):
            return read_all(s, time.monotonic() + READ_TIMEOUT)
        data, deadline = b"", time.monotonic() + READ_TIMEOUT
        while complete_response_len(data) is None and time.monotonic() < deadline:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                return data, True
            data += chunk
        more, closed = read_all(s, time.monotonic() + ACCEPT_GRACE)
        return data + more, closed


def control(srv, record, before):
    """A valid request must reach the recorder (so 'saw nothing' means something)."""
    with Conn(srv.port) as c:
        c.send(b"GET /control HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        r = c.read_response()
    assert r.status == 200, r
    got = records(record)[before:]
    assert [(e["method"], e["path"]) for e in got] == [("GET", "/control")], got


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case(recorder, path):
    srv, record = recorder
    meta, raw = load(path)
    expect = meta["expect"][0]
    before = len(records(record))
    data, closed = send_case(srv.port, raw, expect)
    responses = parse_responses(data)
    seen = records(record)[before:]
    assert all("SMUGGLED" not in e["path"] for e in seen), seen
    if expect.startswith("reject"):
        assert len(responses) == 1, f"{path.name}: {len(responses)} responses: {data[:300]!r}"
        status = responses[0][0]
        assert 400 <= status < 500, f"{path.name}: {status}"
        if expect != "reject":
            assert status == int(expect.split()[1]), f"{path.name}: {status}, want {expect}"
        assert re.search(r"(?im)^connection:\s*close\s*$", responses[0][1]), responses[0][1]
        assert closed, f"{path.name}: the daemon did not close the connection"
        assert seen == [], f"{path.name}: reached the app: {seen}"
    else:
        assert [r[0] for r in responses] == [200], f"{path.name}: {data[:300]!r}"
        want = meta["app-sees"][0]
        m = re.fullmatch(r"(\S+) (\S+) body=(\d+)", want)
        assert len(seen) == 1, f"{path.name}: {seen}"
        e = seen[0]
        assert (e["method"], e["path"], e["body_len"]) == (m.group(1), m.group(2), int(m.group(3))), e
        for h in meta.get("app-lacks", []):
            assert h not in e["headers"], e
    control(srv, record, len(records(record)))
