"""WebSockets (issue 17): RFC 6455 over HTTP/1.1 Upgrade for ASGI apps, behind the real
hearthd. The `websockets` client (python3-websockets 10.4) for echo, fragments, ping/pong,
close codes and hundreds of concurrent connections; raw sockets for malformed frames and
handshakes, idle clients and clients that never read. docs/asgi.md#websockets."""
import asyncio
import base64
import json
import re
import socket
import struct
import time
import urllib.request

import pytest

from conftest import poll
from lifecycle_util import ctl, start, status

websockets = pytest.importorskip("websockets")
from websockets.exceptions import ConnectionClosed, InvalidStatusCode  # noqa: E402

KEY = base64.b64encode(b"0123456789abcdef").decode()


def run(coro, timeout=60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def ws_url(srv, path):
    return srv.url.replace("http://", "ws://") + path


def metrics(srv):
    with urllib.request.urlopen(srv.admin_url + "/metrics", timeout=5) as r:
        return r.read().decode()


def metric(srv, name):
    m = re.search(r"^" + re.escape(name) + r" (\S+)$", metrics(srv), re.M)
    return float(m.group(1)) if m else None


# --- raw sockets -------------------------------------------------------------------------

def raw_handshake(srv, path="/echo", headers=None, read_response=True):
    """Opens a socket and sends an opening handshake; returns (socket, status, head, rest)."""
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    fields = {"Host": "127.0.0.1", "Upgrade": "websocket", "Connection": "Upgrade",
              "Sec-WebSocket-Key": KEY, "Sec-WebSocket-Version": "13"}
    fields.update(headers or {})
    req = "GET %s HTTP/1.1\r\n%s\r\n" % (path, "".join("%s: %s\r\n" % kv for kv in fields.items() if kv[1] is not None))
    s.sendall(req.encode())
    if not read_response:
        return s, None, None, b""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head else 0
    return s, status, head.decode("latin-1"), rest


def client_frame(opcode, payload, fin=True, mask=True, rsv=0):
    b0 = (0x80 if fin else 0) | rsv | opcode
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if not mask:
        return head + payload
    key = b"\x11\x22\x33\x44"
    return head + key + bytes(c ^ key[i % 4] for i, c in enumerate(payload))


def read_frames(s, rest=b"", timeout=10, until=None):
    """Server frames until the connection ends (or until(frames) is true): [(opcode, payload)]."""
    s.settimeout(timeout)
    buf = rest
    frames = []
    while True:
        while len(buf) >= 2:
            b0, b1 = buf[0], buf[1]
            n, pos = b1 & 0x7F, 2
            if n == 126:
                if len(buf) < 4:
                    break
                n, pos = struct.unpack("!H", buf[2:4])[0], 4
            elif n == 127:
                if len(buf) < 10:
                    break
                n, pos = struct.unpack("!Q", buf[2:10])[0], 10
            if len(buf) < pos + n:
                break
            frames.append((b0 & 0x0F, buf[pos:pos + n]))
            buf = buf[pos + n:]
        if until is not None and until(frames):
            return frames
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            return frames
        if not chunk:
            return frames
        buf += chunk


def close_code_of(frames):
    closes = [p for op, p in frames if op == 0x8]
    assert closes, f"no close frame in {frames!r}"
    return struct.unpack("!H", closes[0][:2])[0] if len(closes[0]) >= 2 else None


# --- fixtures ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def wsrv(hearthd_module):
    return hearthd_module("asgi_ws:app", workers=1, toml='[websocket]\nmax_message_size = "64KiB"\n')


# --- the tests -----------------------------------------------------------------------

def test_echo_text_and_binary_with_a_subprotocol(wsrv):
    async def go():
        async with websockets.connect(ws_url(wsrv, "/echo"), subprotocols=["chat", "other"]) as ws:
            assert ws.subprotocol == "chat"
            assert ws.response_headers["X-Ws-App"] == "raw"
            await ws.send("héllo")
            assert await ws.recv() == "héllo"
            await ws.send(b"\x00\x01\xff")
            assert await ws.recv() == b"\x00\x01\xff"
            await ws.send("x" * 60000)  # under the 64 KiB limit
            assert await ws.recv() == "x" * 60000
        assert ws.close_code == 1000
    run(go())


def test_websocket_scope(wsrv):
    async def go():
        async with websockets.connect(ws_url(wsrv, "/scope?q=1"), subprotocols=["a", "b"]) as ws:
            scope = json.loads(await ws.recv())
            with pytest.raises(ConnectionClosed):
                await ws.recv()
        return scope
    scope = run(go())
    assert scope["type"] == "websocket" and scope["scheme"] == "ws"
    assert scope["path"] == "/scope" and scope["query_string"] == "q=1"
    assert scope["subprotocols"] == ["a", "b"]
    assert scope["http_version"] == "1.1" and "method" not in scope
    names = [h[0] for h in scope["headers"]]
    assert "sec-websocket-key" in names and "host" in names


def test_fragmented_messages_are_reassembled(wsrv):
    async def go():
        async with websockets.connect(ws_url(wsrv, "/echo")) as ws:
            await ws.send(["frag", "men", "ted ", "€"])  # websockets sends a list as fragments
            assert await ws.recv() == "fragmented €"
            await ws.send([b"\x01", b"\x02\x03"])
            assert await ws.recv() == b"\x01\x02\x03"
    run(go())
    # A UTF-8 character split across two fragments, with a ping between them (raw).
    s, code, _, rest = raw_handshake(wsrv)
    assert code == 101
    euro = "€".encode()
    s.sendall(client_frame(0x1, b"a" + euro[:1], fin=False) + client_frame(0x9, b"pp") +
              client_frame(0x0, euro[1:], fin=True))
    frames = read_frames(s, rest, until=lambda fs: any(op == 0x1 for op, _ in fs))
    assert (0xA, b"pp") in frames  # the daemon answered the ping itself
    assert (0x1, "a€".encode()) in frames
    s.sendall(client_frame(0x8, struct.pack("!H", 1000) + b"done"))
    frames = read_frames(s)
    s.close()
    assert close_code_of(frames) == 1000  # the client's close, echoed


def test_ping_pong(wsrv):
    async def go():
        async with websockets.connect(ws_url(wsrv, "/echo"), ping_interval=None) as ws:
            waiter = await ws.ping(b"are you there")
            await asyncio.wait_for(waiter, 5)
            await ws.send("after ping")
            assert await ws.recv() == "after ping"
    run(go())


def test_oversized_message_is_closed_with_1009(wsrv):
    async def go():
        async with websockets.connect(ws_url(wsrv, "/echo"), max_size=None) as ws:
            await ws.send("y" * (64 * 1024 + 1))
            with pytest.raises(ConnectionClosed):
                await ws.recv()
        return ws.close_code
    assert run(go()) == 1009
    # Also when only the fragments together are too big.
    s, code, _, rest = raw_handshake(wsrv)
    assert code == 101
    s.sendall(client_frame(0x2, b"z" * 40000, fin=False) + client_frame(0x0, b"z" * 40000))
    frames = read_frames(s, rest)
    s.close()
    assert close_code_of(frames) == 1009


@pytest.mark.parametrize("frame,code", [
    (client_frame(0x1, b"unmasked", mask=False), 1002),
    (client_frame(0x1, b"rsv", rsv=0x40), 1002),
    (client_frame(0x3, b"opcode 3"), 1002),
    (client_frame(0x9, b"p" * 126), 1002),
    (client_frame(0x0, b"nothing to continue"), 1002),
    (client_frame(0x1, b"\xff\xfe bad utf-8"), 1007),
], ids=["unmasked", "rsv-bit", "unknown-opcode", "long-ping", "stray-continuation", "bad-utf8"])
def test_malformed_frames_close_with_the_right_code(wsrv, frame, code):
    s, status, _, rest = raw_handshake(wsrv)
    assert status == 101
    s.sendall(frame)
    frames = read_frames(s, rest)
    s.close()
    assert close_code_of(frames) == code
    # The daemon and the worker are fine: a new socket echoes.
    async def go():
        async with websockets.connect(ws_url(wsrv, "/echo")) as ws:
            await ws.send("still here")
            return await ws.recv()
    assert run(go()) == "still here"


def test_app_closes_with_its_code_and_reason(wsrv):
    async def go():
        async with websockets.connect(ws_url(wsrv, "/close")) as ws:
            assert await ws.recv() == "bye"
            with pytest.raises(ConnectionClosed):
                await ws.recv()
        return ws.close_code, ws.close_reason
    assert run(go()) == (4001, "custom")


def test_app_that_raises_closes_with_1011_and_logs_the_traceback(wsrv):
    async def go():
        async with websockets.connect(ws_url(wsrv, "/boom")) as ws:
            await ws.send("trigger")
            with pytest.raises(ConnectionClosed):
                await ws.recv()
        return ws.close_code
    assert run(go()) == 1011
    wsrv.wait_log(r"RuntimeError: ws-boom-marker")


def test_refused_before_accept_is_403_and_a_failure_is_500(wsrv):
    async def go(path):
        with pytest.raises(InvalidStatusCode) as e:
            async with websockets.connect(ws_url(wsrv, path)):
                pass
        return e.value.status_code
    assert run(go("/reject")) == 403
    assert run(go("/boom-early")) == 500
    wsrv.wait_log(r"RuntimeError: ws-boom-early-marker")


def test_bad_handshakes_get_400(wsrv):
    s, code, head, _ = raw_handshake(wsrv, headers={"Sec-WebSocket-Version": "8"})
    s.close()
    assert code == 400 and "Sec-WebSocket-Version: 13" in head
    s, code, _, _ = raw_handshake(wsrv, headers={"Sec-WebSocket-Key": "c2hvcnQ="})
    s.close()
    assert code == 400
    # Upgrade: websocket on a POST.
    s = socket.create_connection(("127.0.0.1", wsrv.port), timeout=10)
    s.sendall(("POST /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n" % KEY).encode())
    assert s.recv(100).startswith(b"HTTP/1.1 400 ")
    s.close()


def test_wsgi_app_answers_an_upgrade_with_400(hearthd):
    srv = hearthd("basic:app", workers=1)
    s, code, _, rest = raw_handshake(srv, "/")
    body = rest + b"".join(iter(lambda: s.recv(4096), b""))
    s.close()
    assert code == 400
    assert b"WSGI" in body


def test_idle_client_is_pinged_then_closed_with_1001(hearthd):
    srv = hearthd("asgi_ws:app", workers=1, toml='[websocket]\nidle_timeout = "1s"\n')
    s, code, _, rest = raw_handshake(srv)
    assert code == 101
    t0 = time.monotonic()
    frames = read_frames(s, rest, timeout=10)  # never answers the ping
    s.close()
    assert frames[0] == (0x9, b""), frames
    assert close_code_of(frames) == 1001
    assert 0.8 < time.monotonic() - t0 < 9


def test_client_that_never_reads_is_closed_and_the_slot_freed(hearthd):
    srv = hearthd("asgi_ws:app", "--concurrency", "4", workers=1, toml='[http]\nsend_timeout = "2s"\n')
    s, code, _, _ = raw_handshake(srv, "/flood")
    assert code == 101
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    # The daemon buffers a bounded amount for this client, then closes it; the app hears it.
    srv.wait_log(r"flood-stopped-marker", timeout=30)
    poll(lambda: metric(srv, "hearth_websocket_connections") == 0, 15, what="the socket to be closed")
    s.close()
    # All 4 slots serve again.
    async def go():
        async def one(i):
            async with websockets.connect(ws_url(srv, "/echo")) as ws:
                await ws.send(str(i))
                return await ws.recv()
        return await asyncio.gather(*(one(i) for i in range(4)))
    assert run(go()) == ["0", "1", "2", "3"]


def test_metrics_count_connections_and_messages(hearthd):
    srv = hearthd("asgi_ws:app", workers=1)

    async def go():
        async with websockets.connect(ws_url(srv, "/echo")) as a, websockets.connect(ws_url(srv, "/echo")) as b:
            for ws in (a, b):
                await ws.send("m")
                await ws.recv()
            assert metric(srv, "hearth_websocket_connections") == 2
    run(go())
    poll(lambda: metric(srv, "hearth_websocket_connections") == 0, 10, what="the gauge to drop")
    text = metrics(srv)
    assert 'hearth_websocket_messages_total{direction="in"} 2' in text
    assert 'hearth_websocket_messages_total{direction="out"} 2' in text


def test_two_hundred_concurrent_sockets_on_two_workers(hearthd):
    n = 200
    srv = hearthd("asgi_ws:app", "--concurrency", "120", workers=2, ready_workers=2)

    async def go():
        opened = 0
        all_open = asyncio.Event()

        async def one(i):
            nonlocal opened
            async with websockets.connect(ws_url(srv, "/echo?pid"), open_timeout=30) as ws:
                pid = await ws.recv()
                opened += 1
                if opened == n:
                    all_open.set()
                await asyncio.wait_for(all_open.wait(), 60)
                for k in range(5):
                    await ws.send("%d-%d" % (i, k))
                    assert await ws.recv() == "%d-%d" % (i, k)
                return pid

        tasks = [asyncio.ensure_future(one(i)) for i in range(n)]
        await asyncio.wait_for(all_open.wait(), 90)
        gauge = metric(srv, "hearth_websocket_connections")
        pids = await asyncio.gather(*tasks)
        return gauge, pids
    gauge, pids = run(go(), timeout=120)
    assert gauge == n
    assert len(set(pids)) == 2  # both workers served sockets at once


def test_reload_with_an_open_socket_closes_it_with_1001(hearthd, tmp_path):
    srv, sock = start(hearthd, tmp_path, "asgi_ws:app", "--graceful-timeout", "2s", workers=1, ready_workers=1)

    async def go():
        async with websockets.connect(ws_url(srv, "/echo?pid")) as ws:
            old_pid = await ws.recv()
            assert [w["websockets"] for w in status(sock)["workers"]] == [1]
            r = ctl(sock, "reload")
            assert r.returncode == 0, r.stdout + r.stderr
            # Still served by the old worker while it drains.
            await ws.send("during reload")
            assert await ws.recv() == "during reload"
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 30)
        async with websockets.connect(ws_url(srv, "/echo?pid")) as ws2:
            new_pid = await ws2.recv()
        return ws.close_code, old_pid, new_pid
    code, old_pid, new_pid = run(go())
    assert code == 1001
    assert old_pid != new_pid


def test_fastapi_websocket_endpoint(hearthd):
    pytest.importorskip("fastapi")
    srv = hearthd("asgi_ws_fastapi:app", workers=1)

    async def go():
        async with websockets.connect(ws_url(srv, "/ws")) as ws:
            await ws.send(json.dumps({"a": 1}))
            first = json.loads(await ws.recv())
            await ws.send(json.dumps([2]))
            second = json.loads(await ws.recv())
        async with websockets.connect(ws_url(srv, "/ws/text")) as ws:
            await ws.send("shout")
            text = await ws.recv()
        return first, second, text
    first, second, text = run(go())
    assert first == {"n": 1, "echo": {"a": 1}}
    assert second == {"n": 2, "echo": [2]}
    assert text == "SHOUT"

    async def refused(path):
        with pytest.raises(InvalidStatusCode) as e:
            async with websockets.connect(ws_url(srv, path)):
                pass
        return e.value.status_code
    # websocket.close before websocket.accept: an endpoint that refuses, and a path no route
    # matches (Starlette's router closes it): 403, as uvicorn answers.
    assert run(refused("/ws/deny")) == 403
    assert run(refused("/no-such-socket")) == 403
    assert "Traceback" not in srv.log()


def test_wss_over_tls(hearthd, tmp_path):
    import shutil
    import ssl
    import subprocess
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", "k.pem", "-out", "c.pem", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1"], cwd=tmp_path, check=True, capture_output=True)
    srv = hearthd("asgi_ws:app", "--certfile", tmp_path / "c.pem", "--keyfile", tmp_path / "k.pem", workers=1,
                  wait=False)
    url = srv.wait_log(r"listening on (https://\S+)")[0]
    from conftest import http_status
    poll(lambda: srv.admin_url and http_status(srv.admin_url + "/readyz", timeout=1.0) == 200, 20,
         what="hearthd ready")
    ctx = ssl.create_default_context(cafile=str(tmp_path / "c.pem"))

    async def go():
        base = url.replace("https://", "wss://")
        async with websockets.connect(base + "/echo", ssl=ctx) as ws:
            await ws.send("over tls")
            echoed = await ws.recv()
            await ws.send(b"\x00" * 100000)
            big = await ws.recv()
        async with websockets.connect(base + "/scope", ssl=ctx) as ws:
            scope = json.loads(await ws.recv())
        return echoed, big, scope
    echoed, big, scope = run(go())
    assert echoed == "over tls" and big == b"\x00" * 100000
    assert scope["scheme"] == "wss"


def test_daemon_stop_closes_open_sockets_with_1001(hearthd):
    import signal
    srv = hearthd("asgi_ws:app", workers=1)

    async def go():
        async with websockets.connect(ws_url(srv, "/echo")) as ws:
            await ws.send("x")
            await ws.recv()
            srv.send_signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 15)
        return ws.close_code
    assert run(go()) == 1001
    assert srv.wait_exit(15) == 0
