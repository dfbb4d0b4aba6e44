"""Process-manager integration (issue 9): sd_notify to $NOTIFY_SOCKET (READY,
RELOADING, STOPPING, WATCHDOG, STATUS) and socket activation ($LISTEN_FDS), with a
real hearthd and no systemd: a datagram socket stands in for the service manager,
and a shell puts a pre-bound socket at fd 3 with LISTEN_PID=$$ before exec."""
import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import time

import pytest

import hhttp
from conftest import HEARTHD, Hearthd, http_status, poll, wait_exited
from lifecycle_util import ctl, start as start_with_ctl


class NotifySocket:
    """What systemd's notify socket receives: one datagram per sd_notify()."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.05)
        self.messages = []

    def drain(self):
        while True:
            try:
                data = self.sock.recv(4096)
            except (socket.timeout, BlockingIOError):
                return
            self.messages.append(dict(
                line.split("=", 1) for line in data.decode().split("\n") if "=" in line))

    def wait_for(self, key, value=None, timeout=20.0, after=0):
        def found():
            self.drain()
            for i, m in enumerate(self.messages[after:], after):
                if key in m and (value is None or m[key] == value):
                    return i + 1
            return None
        return poll(found, timeout, what=f"{key}={value} on the notify socket")

    def close(self):
        self.sock.close()


@pytest.fixture
def notify(tmp_path, monkeypatch):
    path = tmp_path / "notify.sock"
    if len(str(path)) > 100:
        pytest.skip("tmp path too long for a unix socket")
    ns = NotifySocket(path)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    yield ns
    ns.close()


def test_ready_reloading_stopping(hearthd, tmp_path, notify):
    srv, sock = start_with_ctl(hearthd, tmp_path, "basic:app", workers=2, wait=False)
    n = notify.wait_for("READY", "1")
    # READY=1 is sent when /readyz turns 200, not before.
    admin = poll(lambda: srv.admin_url, 5, what="the admin url")
    assert http_status(admin + "/readyz") == 200
    ready = notify.messages[n - 1]
    assert re.match(r"serving: [12]/2 workers ready, generation 1", ready.get("STATUS", "")), ready
    srv.wait_ready()
    assert notify.messages.count({"READY": "1"}) == 0  # READY always comes with a STATUS

    r = ctl(sock, "reload")
    assert r.returncode == 0, (r.stdout, r.stderr)
    n2 = notify.wait_for("RELOADING", "1", after=n)
    reloading = notify.messages[n2 - 1]
    usec = int(reloading["MONOTONIC_USEC"])
    assert abs(usec / 1e6 - time.monotonic()) < 60, reloading  # CLOCK_MONOTONIC, as systemd wants
    n3 = notify.wait_for("READY", "1", after=n2)
    assert "generation 2" in notify.messages[n3 - 1]["STATUS"], notify.messages[n3 - 1]
    assert sum(1 for m in notify.messages if m.get("READY") == "1") == 2

    # The app does not inherit the service manager's socket.
    zpid = int(re.findall(r"zygote ready pid=(\d+)", srv.log())[-1])
    env = pathlib.Path(f"/proc/{zpid}/environ").read_bytes().split(b"\0")
    assert not any(e.startswith(b"NOTIFY_SOCKET=") for e in env)

    assert srv.stop() == 0
    notify.wait_for("STOPPING", "1", after=n3)
    assert not any("WATCHDOG" in m for m in notify.messages)  # no WATCHDOG_USEC: no pings


def test_watchdog_pings(hearthd, tmp_path, notify, monkeypatch):
    monkeypatch.setenv("WATCHDOG_USEC", "200000")  # 200 ms: a ping every 100 ms
    srv = hearthd("basic:app", workers=1)
    notify.wait_for("READY", "1")
    t0 = time.monotonic()
    time.sleep(1.0)
    notify.drain()
    pings = sum(1 for m in notify.messages if m.get("WATCHDOG") == "1")
    assert 4 <= pings <= 20, (pings, time.monotonic() - t0)
    assert "watchdog enabled: pinging every 100 ms" in srv.log()


def test_watchdog_for_another_pid_is_ignored(hearthd, tmp_path, notify, monkeypatch):
    monkeypatch.setenv("WATCHDOG_USEC", "200000")
    monkeypatch.setenv("WATCHDOG_PID", "1")  # meant for another process
    hearthd("basic:app", workers=1)
    notify.wait_for("READY", "1")
    time.sleep(0.5)
    notify.drain()
    assert not any("WATCHDOG" in m for m in notify.messages)


def test_without_notify_socket_nothing_is_sent(hearthd, monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    srv = hearthd("basic:app", workers=1)
    assert srv.stop() == 0
    assert "sd_notify failed" not in srv.log()


# --- socket activation -----------------------------------------------------------

class ActivatedHearthd(Hearthd):
    """hearthd exec'd by `sh` with `sock` at fd 3, LISTEN_PID=$$ (the shell's pid is
    the pid hearthd keeps after exec), LISTEN_FDS=1 and the given LISTEN_FDNAMES."""

    def __init__(self, args, workdir, name, sock, names="http"):
        super().__init__(args, workdir, name)
        self.sock = sock
        self.names = names

    def start(self):
        err = open(self.stderr_path, "wb")
        out = open(self.stdout_path, "wb")
        self._files = [err, out]
        fd = self.sock.fileno()
        script = (f'LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES={self.names} '
                  f'exec "$0" "$@" 3<&{fd} {fd}<&-')
        self.proc = subprocess.Popen(["bash", "-c", script, *self.args], stdin=subprocess.DEVNULL,
                                     stdout=out, stderr=err, cwd=self.workdir, pass_fds=(fd,))
        return self


def _activated(tmp_path, sock, bind, name, names="http"):
    from conftest import APPS, PYTHON
    if not HEARTHD.exists():
        pytest.skip("build hearthd first")
    args = ["basic:app", "--python", PYTHON, "--chdir", str(APPS), "-b", bind,
            "--admin-bind", "127.0.0.1:0", "-w", "1"]
    return ActivatedHearthd(args, tmp_path, name, sock, names)


@pytest.fixture
def activated(tmp_path):
    started = []

    def make(sock, bind, names="http"):
        h = _activated(tmp_path, sock, bind, f"act{len(started) + 1}", names)
        started.append(h)
        return h.start()
    yield make
    for h in reversed(started):
        h.cleanup()


def _listening_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(128)
    return s


def test_socket_activation_serves_the_inherited_socket(activated):
    sock = _listening_socket()
    port = sock.getsockname()[1]
    try:
        # A client connects before hearthd even exists: the kernel queues it.
        early = hhttp.Conn(port, timeout=20)
        early.send(hhttp.request("GET", "/"))
        srv = activated(sock, f"127.0.0.1:{port}")
        resp = early.read_response()
        assert resp.status == 200 and resp.body == b"Hello from basic\n", resp
        early.close()
        srv.wait_ready()
        assert f"listening on http://127.0.0.1:{port} (inherited fd 3)" in srv.log()
        assert "socket activation: 1 inherited listening socket(s)" in srv.log()
        # The zygote does not see the variables (they were for hearthd only).
        env = pathlib.Path(f"/proc/{srv.zygote_pid()}/environ").read_bytes().split(b"\0")
        assert not any(e.startswith((b"LISTEN_FDS=", b"LISTEN_PID=")) for e in env)

        # Restart: while no hearthd runs, connections wait in the socket's queue.
        assert srv.stop() == 0, srv.log()[-4000:]
        waiting = hhttp.Conn(port, timeout=20)
        waiting.send(hhttp.request("GET", "/"))
        srv2 = activated(sock, f"127.0.0.1:{port}")
        resp = waiting.read_response()
        assert resp.status == 200, resp
        waiting.close()
        assert srv2.stop() == 0, srv2.log()[-4000:]
    finally:
        sock.close()


def test_socket_activation_port_zero_bind_matches_and_unmatched_socket_is_served_too(activated):
    sock = _listening_socket()
    port = sock.getsockname()[1]
    try:
        # Configured 127.0.0.1:0 matches the inherited 127.0.0.1:PORT (any port).
        srv = activated(sock, "127.0.0.1:0")
        srv.wait_ready()
        assert srv.url == f"http://127.0.0.1:{port}", srv.log_tail()
        assert srv.stop() == 0
        # Configured ::1 does not match: hearthd binds it and serves the inherited one too.
        srv2 = activated(sock, "[::1]:0", names="hearthd.socket")
        srv2.wait_ready()
        assert "too (no configured bind names it)" in srv2.log()
        with hhttp.Conn(port) as c:
            c.send(hhttp.request("GET", "/"))
            assert c.read_response().status == 200
    finally:
        sock.close()


def test_socket_activation_for_another_pid_binds_normally(hearthd, monkeypatch):
    monkeypatch.setenv("LISTEN_PID", "1")
    monkeypatch.setenv("LISTEN_FDS", "1")
    srv = hearthd("basic:app", workers=1)
    assert "inherited" not in srv.log()


def test_bad_listen_fds_is_a_clear_error(tmp_path):
    from conftest import APPS, PYTHON
    r = subprocess.run(["sh", "-c", 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" "$@" 3</dev/null', str(HEARTHD),
                        "basic:app", "--python", PYTHON, "--chdir", str(APPS), "-b", "127.0.0.1:0"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 1, r
    assert "inherited fd 3 is not a stream socket" in r.stderr, r.stderr
