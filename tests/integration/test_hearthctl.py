"""hearthctl (issue 3): scale, the status table, graceful stop with a request in
flight, and commands from another uid refused (socket mode 0600, SO_PEERCRED)."""
import concurrent.futures as cf
import os
import pathlib
import pwd
import re
import shutil
import stat
import tempfile

import pytest

from conftest import wait_exited
from lifecycle_util import ctl, get, get_many, ready_workers, start, status, wait_status


def _live(st):
    return [w for w in st["workers"] if w["state"] != "dead"]


def test_scale_up_and_down(hearthd, tmp_path):
    srv, sock = start(hearthd, tmp_path, "lc_version:app", workers=1, ready_workers=1)
    r = ctl(sock, "scale", "3")
    assert r.returncode == 0 and "scaling to 3" in r.stdout, (r.stdout, r.stderr)
    st = wait_status(sock, lambda s: len(ready_workers(s)) == 3, 15, "3 ready workers")
    assert st["desired_workers"] == 3 and st["effective_workers"] == 3, st
    three = {w["pid"] for w in ready_workers(st)}

    r = ctl(sock, "scale", "1")
    assert r.returncode == 0, (r.stdout, r.stderr)
    st = wait_status(sock, lambda s: len(_live(s)) == 1 and len(s["workers"]) == 1
                     and len(ready_workers(s)) == 1, 15, "back to 1 worker")
    assert st["desired_workers"] == 1, st
    gone = three - {w["pid"] for w in st["workers"]}
    assert len(gone) == 2 and wait_exited(sorted(gone), 5) == [], gone
    assert all(s == 200 for s, _ in get_many(srv.port, "/", 5))

    bad = ctl(sock, "scale", "0")
    assert bad.returncode == 1 and "worker count" in (bad.stdout + bad.stderr), bad
    assert status(sock)["desired_workers"] == 1


def test_status_table_shows_memory_columns(hearthd, tmp_path):
    srv, sock = start(hearthd, tmp_path, "lc_version:app", workers=2, ready_workers=2)
    r = ctl(sock, "status")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    for col in ("PID", "STATE", "REQUESTS", "RSS_MiB", "PSS_MiB", "USS_MiB"):
        assert col in out, f"{col} missing from:\n{out}"
    assert re.search(r"^memory: .*\d+\.\d MiB \(sum of PSS\)", out, re.M), out
    assert re.search(r"^generation 1 ", out, re.M), out
    for w in ready_workers(status(sock)):
        assert re.search(rf"^{w['id']}\s+{w['pid']}\s+1\s+ready\s", out, re.M), out


def test_status_table_shows_open_websockets_per_worker(hearthd, tmp_path):
    websockets = pytest.importorskip("websockets")
    import asyncio
    srv, sock = start(hearthd, tmp_path, "asgi_ws:app", workers=1, ready_workers=1)
    url = f"ws://127.0.0.1:{srv.port}/echo?pid"

    async def go():
        async with websockets.connect(url) as a, websockets.connect(url) as b:
            assert (await a.recv()).startswith("pid=") and (await b.recv()).startswith("pid=")
            st = wait_status(sock, lambda s: [w["websockets"] for w in ready_workers(s)] == [2], 10,
                             "2 open WebSockets in the status")
            w = ready_workers(st)[0]
            return ctl(sock, "status"), w
    r, w = asyncio.run(asyncio.wait_for(go(), 60))
    assert r.returncode == 0, r.stderr
    header = next(line for line in r.stdout.splitlines() if line.startswith("ID "))
    assert header.split()[:7] == ["ID", "PID", "GEN", "STATE", "SLOTS", "WS", "REQUESTS"], header
    # Two sockets hold two of the worker's 100 slots, and the WS column counts them.
    assert re.search(rf"^{w['id']}\s+{w['pid']}\s+1\s+busy\s+2/100\s+2\s", r.stdout, re.M), r.stdout
    # Closed: back to 0.
    st = wait_status(sock, lambda s: [w["websockets"] for w in ready_workers(s)] == [0], 10, "sockets closed")
    out = ctl(sock, "status").stdout
    assert re.search(rf"^{w['id']}\s+{w['pid']}\s+1\s+ready\s+0/100\s+0\s", out, re.M), out


def _nobody():
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user 'nobody'")
    if os.geteuid() != 0:
        pytest.skip("needs root to run hearthctl as another uid")
    return "nobody"


def test_hearthctl_from_another_uid_is_refused(hearthd, tmp_path, request):
    user = _nobody()
    # A world-accessible dir, so only the socket's own protection (and the daemon's
    # SO_PEERCRED check) can stop the other user. tmp_path's parents are 0700.
    d = pathlib.Path(tempfile.mkdtemp(prefix="lcperm", dir="/tmp"))
    request.addfinalizer(lambda: shutil.rmtree(d, ignore_errors=True))
    d.chmod(0o755)
    sock = d / "hearthd.sock"
    srv = hearthd("lc_version:app", "--control-socket", sock, workers=1, ready_workers=1)
    assert stat.S_IMODE(os.stat(sock).st_mode) == 0o600, oct(os.stat(sock).st_mode)
    gen_before = status(sock)["generation"]

    # 1. As deployed (0600): connect() itself is refused, or the daemon refuses.
    r = ctl(sock, "stop", user=user)
    out = (r.stdout + r.stderr).lower()
    assert r.returncode != 0, f"another uid's 'stop' succeeded: {out}"
    assert "permission denied" in out, out
    by_kernel = "cannot reach hearthd" in out
    if not by_kernel:
        assert "refused" in srv.log(), srv.log_tail()

    # 2. Socket mode loosened (a mistake): the daemon's SO_PEERCRED check must refuse,
    #    and hearthctl must say so.
    os.chmod(sock, 0o666)
    outcomes = []
    for cmd in (["stop"], ["reload"], ["scale", "3"]):
        r = ctl(sock, *cmd, user=user)
        outcomes.append((cmd, r.returncode, (r.stdout + r.stderr).strip()))
    assert all(rc != 0 for _, rc, _ in outcomes), outcomes
    srv.wait_log(r"refused a command from .*only root or the daemon's uid", timeout=5)
    assert len(re.findall(r"refused a command from", srv.log())) >= 3, srv.log_tail()
    assert srv.proc.poll() is None, "hearthd stopped on another uid's command"
    st = status(sock)
    assert st["generation"] == gen_before and st["desired_workers"] == 1, st
    assert get(srv.port, "/")[0] == 200
    # What the other user is told: the daemon's answer, "permission denied" (exit 1).
    unclear = [o for o in outcomes if o[1] != 1 or "permission denied" not in o[2].lower()]
    assert not unclear, ("refused, but hearthctl did not report the daemon's 'permission "
                         f"denied' answer: {unclear}")


def test_stop_finishes_in_flight_request(hearthd, tmp_path):
    srv, sock = start(hearthd, tmp_path, "lc_version:app", "--graceful-timeout", "10s",
                      workers=1, ready_workers=1)
    children = [srv.zygote_pid(), *srv.worker_pids().values()]
    with cf.ThreadPoolExecutor(1) as pool:
        fut = pool.submit(get, srv.port, "/sleep?ms=1500", 15)
        wait_status(sock, lambda s: any(w["current_request"].startswith("GET /sleep")
                                        for w in s["workers"]), 5, "the slow request in flight")
        r = ctl(sock, "stop")
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert srv.proc.poll() is None, "hearthd exited with a request in flight"
        code, body = fut.result(timeout=15)
    assert code == 200 and body.startswith("version="), (code, body)
    assert srv.wait_exit(10) == 0, srv.log_tail()
    assert wait_exited(children, 3) == [], "workers outlived hearthd"


# --- issue 16: hearthctl checks whom it talks to ---------------------------------------

SQUAT_SERVER = r"""
import os, socket, sys
path, record = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(4)
print("listening", flush=True)
s.settimeout(20)
while True:
    try:
        c, _ = s.accept()
    except socket.timeout:
        break
    c.settimeout(2)
    try:
        data = c.recv(4096)
    except socket.timeout:
        data = b""
    with open(record, "ab") as f:
        f.write(b"GOT:" + data + b"\n")
    c.sendall(b'{"ok":true,"message":"squatter says ok"}\n')
    c.close()
"""


def _squatter(tmp_path, request, sock, user=None):
    """A Python 'hearthd' on `sock` (as `user` via setpriv when given); it records what
    it receives. Returns (proc, record file)."""
    import subprocess
    record = sock.parent / "squat.rec"  # writable by the squatter (tmp_path's parents are 0700)
    record.write_bytes(b"")
    os.chmod(record, 0o666)
    cmd = ["/usr/bin/python3", "-c", SQUAT_SERVER, str(sock), str(record)]
    if user is not None:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    request.addfinalizer(lambda: (p.kill(), p.wait()))
    line = p.stdout.readline()
    assert line.strip() == "listening", (line, p.stderr.read() if p.poll() is not None else "")
    return p, record


def _world_writable_dir(request):
    """Like /tmp (1777): where a squatter can create the default socket path."""
    d = pathlib.Path(tempfile.mkdtemp(prefix="lcsquat", dir="/tmp"))
    request.addfinalizer(lambda: shutil.rmtree(d, ignore_errors=True))
    d.chmod(0o1777)
    return d


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (another uid must own the socket)")
def test_socket_owned_by_another_user_is_refused_and_nothing_is_sent(tmp_path, request):
    """A socket another user created in a world-writable directory (a squatted
    /tmp/hearthd-0.sock while hearthd is down): root's hearthctl refuses, names the
    owner, and sends nothing."""
    d = _world_writable_dir(request)
    sock = d / "hearthd-0.sock"
    _, record = _squatter(tmp_path, request, sock, user=65534)
    assert os.lstat(sock).st_uid == 65534
    for cmd in (["stop"], ["status"]):
        r = ctl(sock, *cmd)
        assert r.returncode == 3, (r.returncode, r.stdout, r.stderr)
        assert "refusing" in r.stderr and "uid 65534" in r.stderr, r.stderr
        assert "squatter says ok" not in r.stdout + r.stderr
    assert record.read_bytes() == b"", "hearthctl connected to the squatter"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (another uid must listen)")
def test_listener_running_as_another_user_is_refused_after_connect(tmp_path, request):
    """The socket file looks like root's (chowned back), but the process listening on it
    runs as nobody: SO_PEERCRED after connect() refuses before anything is sent."""
    d = _world_writable_dir(request)
    sock = d / "hearthd-0.sock"
    _, record = _squatter(tmp_path, request, sock, user=65534)
    os.chown(sock, 0, 0)
    r = ctl(sock, "stop")
    assert r.returncode == 3, (r.returncode, r.stdout, r.stderr)
    assert "runs as" in r.stderr and "uid 65534" in r.stderr, r.stderr
    assert "squatter says ok" not in r.stdout + r.stderr
    # The squatter saw a connection that closed without a command.
    import time
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and b"GOT:" not in record.read_bytes():
        time.sleep(0.05)
    assert record.read_bytes() in (b"", b"GOT:\n"), record.read_bytes()  # connected, sent nothing


def test_own_socket_and_listener_are_trusted(tmp_path, request):
    """The control: the same server run as ourselves is talked to."""
    d = _world_writable_dir(request)
    sock = d / "own.sock"
    _, record = _squatter(tmp_path, request, sock)
    r = ctl(sock, "stop")
    assert r.returncode == 0 and "squatter says ok" in r.stdout, (r.stdout, r.stderr)
    assert record.read_bytes() == b"GOT:stop\n\n"  # the command line, then our record separator


def test_status_with_threads_shows_slots_busy_and_every_request(hearthd, tmp_path):
    srv, sock = start(hearthd, tmp_path, "lc_version:app", "--threads", "3", workers=1, ready_workers=1)
    with cf.ThreadPoolExecutor(2) as pool:
        futs = [pool.submit(get, srv.port, f"/sleep?ms=2500&n={i}") for i in range(2)]
        st = wait_status(sock, lambda s: ready_workers(s) and ready_workers(s)[0]["busy_slots"] == 2, 10,
                         "two busy slots")
        w = ready_workers(st)[0]
        assert w["slots"] == 3 and len(w["in_flight"]) == 2, w
        out = ctl(sock, "status").stdout
        assert re.search(rf"^{w['id']}\s+{w['pid']}\s+1\s+busy\s+2/3\s", out, re.M), out
        assert len(re.findall(r"GET /sleep\?ms=2500&n=\d", out)) == 2, out
        assert [f.result()[0] for f in futs] == [200, 200]
    out = ctl(sock, "status").stdout
    assert re.search(rf"^{w['id']}\s+{w['pid']}\s+1\s+ready\s+0/3\s", out, re.M), out
