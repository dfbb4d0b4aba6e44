"""WebSocket upgrades passed through to [[upstreams]] (issue 19, docs/several-apps.md
"Upstreams"): a `command` upstream running a `websockets` 10.4 echo server
(tests/integration/apps/ws_upstream_server.py) on $PORT under a prefix with strip_prefix,
and one on a Unix socket ($SOCKET); the `websockets` client. Echo of text, binary and 1 MiB
messages, the upstream's subprotocol and Set-Cookie reaching the client, the client's
headers reaching the upstream, a slow client holding the upstream back, a refused handshake
(403) relayed, 502/504 when no server answers the handshake, close codes both ways,
a killed upstream closing the client (1011, no hang), a blue/green reload, a configuration
reload that removes the upstream and a shutdown closing an open tunnel with 1001."""
import asyncio
import json
import os
import signal
import socket
import urllib.request

import pytest

from conftest import APPS, PYTHON, pid_exited, poll
from lifecycle_util import ctl, socket_path

websockets = pytest.importorskip("websockets")
from websockets.exceptions import ConnectionClosed, InvalidStatusCode  # noqa: E402

SERVER = f"{PYTHON} {APPS / 'ws_upstream_server.py'}"
MIB = 1 << 20

CONFIG = """
control_socket = "{sock}"

[websocket]
max_message_size = "4MiB"

[[upstreams]]
name = "live"
prefix = "/live"
strip_prefix = true
command = "{server}"
env = {{ UPSTREAM_TAG = "live", RECORD_DIR = "{rec}" }}
graceful_timeout = "5s"
[upstreams.health]
path = "/healthz"

[[upstreams]]
name = "unixy"
prefix = "/unixy"
command = "{server}"
socket = true
env = {{ UPSTREAM_TAG = "unixy", RECORD_DIR = "{rec}" }}
[upstreams.health]
path = "/healthz"
"""


def run(coro, timeout=60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


@pytest.fixture
def up(hearthd, tmp_path):
    sock = socket_path(tmp_path)
    rec = tmp_path / "rec"
    rec.mkdir()
    srv = hearthd(None, workers=1, toml=CONFIG.format(sock=sock, server=SERVER, rec=rec))
    srv.ctl_sock = sock
    srv.rec = rec
    return srv


def url(srv, path):
    return f"ws://127.0.0.1:{srv.port}{path}"


def connect(srv, path, **kw):
    kw.setdefault("max_size", 8 * MIB)
    kw.setdefault("compression", None)
    return websockets.connect(url(srv, path), open_timeout=10, close_timeout=10, **kw)


async def info(ws):
    await ws.send("info")
    return json.loads(await ws.recv())


def recorded(srv, ident):
    """The close code (and reason) the upstream recorded for connection `ident`, once written."""
    p = srv.rec / f"closed-{ident}"
    poll(p.exists, 10, what=f"the upstream recorded the close of {ident}")
    return p.read_text()


def test_echo_subprotocol_headers_and_prefix(up):
    async def main():
        async with connect(up, "/live/chat/room?id=a", subprotocols=["other", "superchat"],
                           origin="http://example.com",
                           extra_headers={"Cookie": "c=1", "Authorization": "Bearer t"}) as ws:
            assert ws.subprotocol == "superchat"
            assert ws.response_headers.get("Set-Cookie") == "up=1"
            got = await info(ws)
            await ws.send("hello")
            assert await ws.recv() == "hello"
            await ws.send(b"\x00\x01binary\xff")
            assert await ws.recv() == b"\x00\x01binary\xff"
            return got

    got = run(main())
    assert got["tag"] == "live" and got["path"] == "/chat/room?id=a", got
    assert got["subprotocol"] == "superchat", got
    h = got["headers"]
    assert h["origin"] == "http://example.com" and h["cookie"] == "c=1", h
    assert h["authorization"] == "Bearer t", h
    assert h["host"] == f"127.0.0.1:{up.port}", h
    assert h["x-forwarded-for"] == "127.0.0.1" and h["x-forwarded-proto"] == "http", h
    assert h.get("x-request-id"), h
    assert "other" in h["sec-websocket-protocol"] and "superchat" in h["sec-websocket-protocol"], h
    # hearthd frames the client's side itself and negotiates no extension
    assert "sec-websocket-extensions" not in h, h


def test_one_mib_messages_both_ways(up):
    async def main():
        async with connect(up, "/live/big") as ws:
            data = os.urandom(MIB)
            await ws.send(data)
            assert await ws.recv() == data
            text = "x" * MIB
            await ws.send(text)
            assert await ws.recv() == text

    run(main())


def test_a_slow_client_holds_the_upstream_back(up):
    """32 MiB from the upstream to a client that reads nothing for a while: far beyond what the
    front door holds for a client (2 x max_message_size + 64 KiB) and the kernel's buffers. hearthd
    stops reading the upstream while the client is behind, so nothing is lost and the client is
    not closed as one that does not read."""
    count, size = 512, 64 * 1024

    async def main():
        # max_queue=1: the client stops reading its socket while a message waits unread
        async with connect(up, "/live/flood", max_queue=1) as ws:
            await ws.send(f"flood:{count},{size}")
            # The behaviour under test is a client that does not read for a while.
            await asyncio.sleep(1.5)
            for i in range(count):
                m = await ws.recv()
                assert len(m) == size and m[:4] == i.to_bytes(4, "big"), (i, len(m))
            assert await ws.recv() == "flood done"
            await ws.send("still open")
            assert await ws.recv() == "still open"

    run(main(), timeout=120)


def test_unix_socket_upstream_without_strip_prefix(up):
    async def main():
        async with connect(up, "/unixy/x?id=u") as ws:
            await ws.send("over unix")
            assert await ws.recv() == "over unix"
            return await info(ws)

    got = run(main())
    assert got["tag"] == "unixy" and got["path"] == "/unixy/x?id=u", got
    assert recorded(up, "u").startswith("1000"), "a normal close reaches the upstream"


def test_a_refused_handshake_is_relayed(up):
    async def main():
        with pytest.raises(InvalidStatusCode) as e:
            async with connect(up, "/live/refuse/x"):
                pass
        return e.value.status_code

    assert run(main()) == 403
    # the body too, over a raw socket
    with socket.create_connection(("127.0.0.1", up.port), timeout=10) as s:
        s.sendall(b"GET /live/refuse HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  b"Sec-WebSocket-Key: MDEyMzQ1Njc4OWFiY2RlZg==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        got = b""
        while b"refused by upstream" not in got:
            chunk = s.recv(65536)
            assert chunk, got
            got += chunk
        assert got.startswith(b"HTTP/1.1 403"), got


def test_close_codes_both_ways(up):
    async def main():
        async with connect(up, "/live/c?id=up") as ws:
            await ws.send("close:4001")
            with pytest.raises(ConnectionClosed):
                await ws.recv()
            upstream_closed = (ws.close_code, ws.close_reason)
        async with connect(up, "/live/c?id=client") as ws:
            await ws.send("ping")
            assert await ws.recv() == "ping"
            await ws.close(4002, "client bye")
        return upstream_closed

    assert run(main()) == (4001, "bye")
    assert recorded(up, "client").startswith("4002"), "the client's close code reaches the upstream"
    # one request each, 101, in the metrics with the upstream's name
    with urllib.request.urlopen(up.admin_url + "/metrics", timeout=5) as r:
        metrics = r.read().decode()
    assert 'hearth_requests_total{app="live",method="GET",status="1xx"}' in metrics, metrics[:3000]
    # and in the access log as a 101 (not as a client that left: the socket was handed over)
    poll(lambda: '"GET /live/c?id=client HTTP/1.1" 101 ' in up.stdout(), 5, what="the access log line on stdout")


def test_a_killed_upstream_closes_the_client(up):
    async def main():
        async with connect(up, "/live/k") as ws:
            pid = (await info(ws))["pid"]
            os.kill(pid, signal.SIGKILL)
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 10)
            return pid, ws.close_code

    pid, code = run(main())
    assert code == 1011, code
    poll(lambda: pid_exited(pid), 10, what="the killed server reaped")

    async def again():
        async with connect(up, "/live/again") as ws:
            await ws.send("back")
            return await ws.recv()

    def restarted():
        try:
            return run(again(), timeout=10) == "back"
        except (OSError, InvalidStatusCode, ConnectionClosed, asyncio.TimeoutError):
            return False

    poll(restarted, 20, interval=0.2, what="the restarted upstream serving WebSockets")


def test_a_reload_closes_open_tunnels_with_1001(up):
    async def main():
        async with connect(up, "/live/r?id=reload") as ws:
            old = (await info(ws))["pid"]
            loop = asyncio.get_running_loop()
            r = await loop.run_in_executor(None, lambda: ctl(up.ctl_sock, "reload", "live"))
            assert r.returncode == 0, r
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 10)
            code = ws.close_code
        async with connect(up, "/live/r2") as ws:
            new = (await info(ws))["pid"]
        return old, code, new

    old, code, new = run(main())
    assert code == 1001 and new != old, (old, code, new)
    assert recorded(up, "reload").startswith("1001"), "the upstream side is closed with 1001 too"
    poll(lambda: pid_exited(old), 15, what="the old process stopped after the reload")


def test_a_configuration_reload_removing_the_upstream_closes_its_tunnels(up, tmp_path):
    cfg = tmp_path / "hearthd1.toml"
    text = cfg.read_text()
    assert '\n[[upstreams]]\nname = "unixy"' in text

    async def main():
        async with connect(up, "/unixy/x?id=removed") as ws:
            await ws.send("hi")
            assert await ws.recv() == "hi"
            cfg.write_text(text[:text.index('\n[[upstreams]]\nname = "unixy"')])
            loop = asyncio.get_running_loop()
            r = await loop.run_in_executor(None, lambda: ctl(up.ctl_sock, "reload", timeout=60))
            assert r.returncode == 0 and "removed unixy" in r.stdout + r.stderr, r
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 10)
            return ws.close_code

    assert run(main()) == 1001
    assert recorded(up, "removed").startswith("1001")


def test_shutdown_closes_an_open_tunnel_with_1001(up):
    async def main():
        async with connect(up, "/live/s?id=shutdown") as ws:
            await ws.send("hi")
            assert await ws.recv() == "hi"
            loop = asyncio.get_running_loop()
            stopping = loop.run_in_executor(None, up.stop)
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 10)
            code = ws.close_code
        return code, await stopping

    code, rc = run(main())
    assert code == 1001 and rc == 0, (code, rc, up.log_tail())
    assert recorded(up, "shutdown").startswith("1001")


UNREACHABLE = """
[[upstreams]]
name = "dead"
prefix = "/dead"
servers = ["127.0.0.1:{dead}"]
connect_timeout = "2s"

[[upstreams]]
name = "mute"
prefix = "/mute"
servers = ["127.0.0.1:{mute}"]
timeout = "1s"
"""


def test_no_server_is_502_and_no_answer_is_504(hearthd):
    with socket.socket() as d:
        d.bind(("127.0.0.1", 0))
        dead = d.getsockname()[1]  # bound, never listening: connections are refused
        with socket.socket() as mute:
            mute.bind(("127.0.0.1", 0))
            mute.listen(8)  # the kernel completes the connection; nothing ever answers
            srv = hearthd(None, workers=1,
                          toml=UNREACHABLE.format(dead=dead, mute=mute.getsockname()[1]))

            async def status(path):
                with pytest.raises(InvalidStatusCode) as e:
                    async with connect(srv, path):
                        pass
                return e.value.status_code

            assert run(status("/dead/x")) == 502
            assert run(status("/mute/x")) == 504
            assert srv.stop() == 0, srv.log_tail()
