"""`hearthctl upgrade` (issue 9): the daemon execs its binary, hands the new process
its listening sockets (app, admin, control), and drains once the new one serves.
A client loop hammers the port during the switch: no refused or reset connection.

The old hearthd is the new one's parent and exits after draining; the new one is
then re-parented. PID 1 here does not reap, so this module makes the test process
a child subreaper (prctl) while it runs: the orphaned hearthd becomes our child and
is reaped by PID when the test stops it."""
import concurrent.futures as cf
import ctypes
import json
import os
import pathlib
import shutil
import signal
import socket
import threading
import time

import pytest

import hhttp
from conftest import HEARTHD, pid_exited, poll, wait_exited
from lifecycle_util import ctl, start as start_with_ctl, status

PR_SET_CHILD_SUBREAPER = 36


@pytest.fixture(autouse=True)
def subreaper():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        pytest.skip("prctl(PR_SET_CHILD_SUBREAPER) failed")
    yield
    libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


class Strays:
    """PIDs this test learned of (new daemons, their zygotes and workers): stopped by PID."""

    def __init__(self):
        self.daemons = []
        self.children = set()

    def learn(self, sock):
        try:
            st = status(sock)
        except AssertionError:
            return
        self.children.add(st["zygote"]["pid"])
        self.children.update(w["pid"] for w in st["workers"])

    def stop_all(self):
        for pid in self.daemons:
            if not pid_exited(pid):
                os.kill(pid, signal.SIGTERM)
        for pid in self.daemons:
            if wait_exited([pid], 15):
                os.kill(pid, signal.SIGKILL)
        for pid in sorted(self.children):
            if not pid_exited(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for pid in self.daemons:
            try:
                os.waitpid(pid, 0)  # re-parented to us (subreaper)
            except ChildProcessError:
                pass


@pytest.fixture
def strays():
    s = Strays()
    yield s
    s.stop_all()


class Hammer:
    """New connection per request (Connection: close) from `threads` client threads,
    bounded to `limit` requests in all."""

    def __init__(self, port, limit=20000, threads=3):
        self.port = port
        self.limit = limit
        self.results = []  # status, or the exception's text
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(threads)]

    def start(self):
        for t in self.threads:
            t.start()

    def join(self, timeout):
        for t in self.threads:
            t.join(timeout)
        return not any(t.is_alive() for t in self.threads)

    def run(self):
        req = hhttp.request("GET", "/", headers=[("Connection", "close")])
        while not self.stop.is_set() and len(self.results) < self.limit:
            try:
                with hhttp.Conn(self.port, timeout=10) as c:
                    c.send(req)
                    self.results.append(c.read_response().status)
            except Exception as e:  # noqa: BLE001 - every failure is what we count
                self.results.append(f"{type(e).__name__}: {e}")

    def errors(self):
        return [r for r in self.results if r != 200]


def test_upgrade_hands_over_without_refusing_a_connection(hearthd, tmp_path, strays, monkeypatch):
    from test_systemd import NotifySocket
    notify = NotifySocket(tmp_path / "notify.sock")  # plays systemd: who is the main pid now
    monkeypatch.setenv("NOTIFY_SOCKET", notify.path)
    srv, sock = start_with_ctl(hearthd, tmp_path, "basic:app", workers=2, ready_workers=2)
    old_pid = srv.pid
    port, admin = srv.port, srv.admin_url
    hammer = Hammer(port)
    hammer.start()
    poll(lambda: len(hammer.results) >= 20, 10, what="the client loop to run")

    r = ctl(sock, "--json", "upgrade", timeout=60)
    assert r.returncode == 0, (r.stdout, r.stderr, srv.log_tail())
    answer = json.loads(r.stdout)
    new_pid = answer["new_pid"]
    strays.daemons.append(new_pid)
    assert answer["old_pid"] == old_pid and new_pid != old_pid, answer

    # The old daemon drains and exits 0; the new one keeps every socket.
    assert srv.wait_exit(30) == 0, srv.log_tail()
    n = len(hammer.results)
    poll(lambda: len(hammer.results) >= n + 50, 15, what="requests served by the new daemon")
    hammer.stop.set()
    assert hammer.join(30)
    errors = hammer.errors()
    assert errors == [], f"{len(errors)} failed of {len(hammer.results)}: {errors[:5]}"
    assert len(hammer.results) > 100, len(hammer.results)

    # The old process told systemd the service's main pid is the new one, and did
    # not say STOPPING: the service keeps running.
    n = notify.wait_for("MAINPID", str(new_pid))
    assert notify.messages[n - 1].get("READY") == "1", notify.messages
    assert not any("STOPPING" in m for m in notify.messages), notify.messages
    notify.close()

    # The control socket moved: hearthctl now talks to the new pid.
    st = status(sock)
    strays.learn(sock)
    assert st["pid"] == new_pid and st["ready_workers"] == 2, st
    assert not pid_exited(new_pid)
    with hhttp.Conn(port) as c:
        c.send(hhttp.request("GET", "/environ"))
        env = c.read_response().json()
    assert env and os.path.exists(sock)
    log = srv.log()
    assert "upgrade: 3 inherited listening socket(s)" in log, log[-3000:]
    assert f"upgrade: pid {new_pid} serves now" in log
    import urllib.request
    with urllib.request.urlopen(admin + "/readyz", timeout=5) as resp:
        assert resp.status == 200

    # Stopped by PID, the new daemon stops its workers and removes the socket file.
    os.kill(new_pid, signal.SIGTERM)
    assert wait_exited([new_pid], 15) == []
    _, raw = os.waitpid(new_pid, 0)
    assert os.waitstatus_to_exitcode(raw) == 0
    assert wait_exited(sorted(strays.children), 10) == []
    assert not os.path.exists(sock)


def test_failed_upgrade_keeps_the_old_daemon_serving(hearthd, tmp_path, strays):
    # Run a copy of the binary, then replace it (as a package upgrade does) by one
    # that cannot start: the upgrade reports why and the old daemon keeps serving.
    exe = tmp_path / "bin" / "hearthd"
    exe.parent.mkdir()
    shutil.copy2(HEARTHD, exe)
    import conftest
    orig = conftest.HEARTHD
    conftest.HEARTHD = exe
    try:
        srv, sock = start_with_ctl(hearthd, tmp_path, "basic:app", workers=1, ready_workers=1)
    finally:
        conftest.HEARTHD = orig
    assert srv.args[0] == str(exe)
    exe.unlink()
    exe.write_text("#!/bin/sh\necho 'broken build' >&2\nexit 2\n")
    exe.chmod(0o755)

    r = ctl(sock, "upgrade", timeout=60)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "exited before it was ready" in r.stderr and "exit 2" in r.stderr, r.stderr
    st = status(sock)
    assert st["pid"] == srv.pid and st["ready_workers"] == 1, st
    with hhttp.Conn(srv.port) as c:
        c.send(hhttp.request("GET", "/"))
        assert c.read_response().status == 200
    assert "broken build" in srv.log()

    # With the real binary back, the upgrade works and runs the file now on disk.
    exe.unlink()
    shutil.copy2(HEARTHD, exe)
    r = ctl(sock, "--json", "upgrade", timeout=60)
    assert r.returncode == 0, (r.stdout, r.stderr, srv.log_tail())
    new_pid = json.loads(r.stdout)["new_pid"]
    strays.daemons.append(new_pid)
    assert srv.wait_exit(30) == 0
    assert os.readlink(f"/proc/{new_pid}/exe") == str(exe)
    strays.learn(sock)


def test_upgrade_usage_error(hearthd, tmp_path):
    srv, sock = start_with_ctl(hearthd, tmp_path, "basic:app", workers=1, ready_workers=1)
    r = ctl(sock, "upgrade", "now")
    assert r.returncode == 2 and "takes no arguments" in r.stderr


def test_upgrade_refused_while_stopping(hearthd, tmp_path):
    """Once SIGTERM has started the drain, the control socket is closed: an upgrade is
    refused (hearthctl exits 3, "cannot reach hearthd"), no new daemon is
    started, and the request in flight still completes before the daemon exits."""
    srv, sock = start_with_ctl(hearthd, tmp_path, "basic:app", "--graceful-timeout", "10s",
                               workers=1, ready_workers=1)
    with cf.ThreadPoolExecutor(1) as pool:
        slow = pool.submit(hhttp.get, srv.port, "/sleep?ms=1500", timeout=20)
        time.sleep(0.3)  # the request is inside the app
        srv.send_signal(signal.SIGTERM)
        srv.wait_log(r"graceful shutdown", timeout=5)
        r = ctl(sock, "upgrade", timeout=20)
        assert r.returncode == 3 and "cannot reach hearthd" in r.stderr, (r.returncode, r.stdout, r.stderr)
        assert slow.result(timeout=20).status == 200
    assert srv.wait_exit(15) == 0, srv.log_tail()
    assert "upgrade:" not in srv.log(), srv.log_tail()


def _unix_get(path, target="/"):
    import socket as s
    c = s.socket(s.AF_UNIX, s.SOCK_STREAM)
    c.settimeout(10)
    c.connect(str(path))
    c.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while True:
        chunk = c.recv(65536)
        if not chunk:
            break
        data += chunk
    c.close()
    return data


def test_upgrade_twice_keeps_a_unix_listener_and_the_port(hearthd, tmp_path, strays):
    import tempfile
    d = pathlib.Path(tempfile.mkdtemp(prefix="hup", dir="/tmp"))
    app_sock = d / "app.sock"
    try:
        srv, sock = start_with_ctl(hearthd, tmp_path, "basic:app", "-b", f"unix:{app_sock}", workers=1,
                                   ready_workers=1)
        port = srv.port
        assert _unix_get(app_sock).startswith(b"HTTP/1.1 200")
        r = ctl(sock, "--json", "upgrade", timeout=60)
        assert r.returncode == 0, (r.stdout, r.stderr)
        pid1 = json.loads(r.stdout)["new_pid"]
        strays.daemons.append(pid1)
        assert srv.wait_exit(30) == 0
        strays.learn(sock)
        # The upgraded daemon upgrades again (its parent is gone: it was re-parented).
        r = ctl(sock, "--json", "upgrade", timeout=60)
        assert r.returncode == 0, (r.stdout, r.stderr, srv.log_tail())
        pid2 = json.loads(r.stdout)["new_pid"]
        strays.daemons.append(pid2)
        assert json.loads(r.stdout)["old_pid"] == pid1
        assert wait_exited([pid1], 30) == []
        strays.learn(sock)
        assert status(sock)["pid"] == pid2
        assert _unix_get(app_sock).startswith(b"HTTP/1.1 200")
        with hhttp.Conn(port) as c:
            c.send(hhttp.request("GET", "/"))
            assert c.read_response().status == 200
        assert srv.log().count("(inherited fd 4)") >= 2  # the unix listener, twice
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_upgrade_of_an_https_daemon_keeps_serving_https(hearthd, tmp_path, strays):
    """The inherited listeners stay HTTPS in the new daemon (the sockets carry no TLS
    state: the new process must know they are TLS from its config)."""
    from test_tls import client_context, start_tls
    pki = _pki(tmp_path)
    srv, url = start_tls(hearthd, tmp_path, pki, ctl=True)
    sock = tmp_path / "ctl.sock"
    port = int(url.rsplit(":", 1)[1])
    r = ctl(sock, "--json", "upgrade", timeout=60)
    assert r.returncode == 0, (r.stdout, r.stderr, srv.log_tail())
    new_pid = json.loads(r.stdout)["new_pid"]
    strays.daemons.append(new_pid)
    assert srv.wait_exit(30) == 0, srv.log_tail()
    strays.learn(sock)
    assert status(sock)["pid"] == new_pid
    ctx = client_context(pki)
    for _ in range(3):
        raw = socket.create_connection(("127.0.0.1", port), timeout=5)
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            data = hhttp.recv_until_close(s)
        assert data.startswith(b"HTTP/1.1 200"), data[:200]


def _pki(tmp_path):
    """A CA and a server certificate made with openssl (as test_tls's pki fixture)."""
    from test_tls import make_server_cert, openssl
    d = tmp_path / "pki"
    d.mkdir()
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Hearth Test CA", cwd=d)
    return {"dir": d, "ca": d / "ca.pem", "a": make_server_cert(d, "a", "hearth-a.test", 4097)}
