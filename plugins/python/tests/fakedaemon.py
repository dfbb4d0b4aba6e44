"""A small pure-Python stand-in for hearthd, enough to drive real zygotes and workers.

It speaks docs/worker-protocol.md from the daemon's side: socketpair control channel
(passed with pass_fds), a death pipe, FORK with SCM_RIGHTS slot sockets, REQUEST frames.
Every process it learns about (zygote, workers) is tracked by pid and killed + reaped by
``close()``. The test process is made a child subreaper (like hearthd), so double-forked
workers are reparented to it and their exit status can be checked with waitpid().
"""

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PLUGIN = HERE.parent
ZYGOTE = PLUGIN / "hearth_zygote.py"
APPS = HERE / "apps"
# The interpreter that runs the zygote; HEARTH_TEST_PYTHON=/path/to/python3.9 checks another.
PYTHON = os.environ.get("HEARTH_TEST_PYTHON") or (
    "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable)


def python_has(module):
    """Whether the zygote interpreter can import ``module`` (frameworks are optional)."""
    return subprocess.run([PYTHON, "-c", "import " + module], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0

sys.path.insert(0, str(PLUGIN))
from hearth_worker import protocol as P  # noqa: E402

HEADER = P.HEADER
PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


class Frame:
    __slots__ = ("type", "flags", "aux", "payload")

    def __init__(self, ftype, flags, aux, payload):
        self.type, self.flags, self.aux, self.payload = ftype, flags, aux, payload

    def json(self):
        return json.loads(self.payload.decode("utf-8"))

    def __repr__(self):
        return "Frame(0x%02x, flags=%d, aux=%d, %r)" % (self.type, self.flags, self.aux, self.payload[:80])


def recv_exact(sock, n, deadline):
    out = bytearray()
    while len(out) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out waiting for %d bytes (have %d)" % (n, len(out)))
        sock.settimeout(left)
        data = sock.recv(n - len(out))
        if not data:
            raise EOFError("EOF after %d of %d bytes" % (len(out), n))
        out += data
    return bytes(out)


def read_frame(sock, timeout=5.0):
    deadline = time.monotonic() + timeout
    head = recv_exact(sock, 16, deadline)
    ftype, flags, reserved, length, aux = HEADER.unpack(head)
    assert reserved == 0
    payload = recv_exact(sock, length, deadline) if length else b""
    return Frame(ftype, flags, aux, payload)


def wait_pid(pid, timeout):
    """Reap pid within timeout; return its exit code (negative = signal) or None."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            got, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return None
        if got:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.01)


class Response:
    def __init__(self, frames):
        self.frames = frames
        start = frames[0]
        assert start.type == P.RESPONSE_START, frames
        parts = start.payload.decode("latin-1").split("\0")
        self.status = parts[0]
        self.code = int(self.status[:3])
        self.headers = list(zip(parts[1::2], parts[2::2]))
        bodies = [f for f in frames[1:-1]]
        assert all(f.type == P.RESPONSE_BODY for f in bodies), frames
        self.chunks = [f.payload for f in bodies]
        self.body = b"".join(self.chunks)
        end = frames[-1]
        assert end.type == P.RESPONSE_END and end.payload == b"", frames
        self.aborted = bool(end.flags & P.FLAG_ABORTED)

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "Response(%r, %r, %r, aborted=%s)" % (self.status, self.headers, self.body[:200], self.aborted)


def environ_block(method="GET", path="/", query="", body=b"", headers=(), scheme="http", request_id="r1"):
    env = [
        ("REQUEST_METHOD", method), ("SCRIPT_NAME", ""), ("PATH_INFO", path),
        ("QUERY_STRING", query), ("SERVER_NAME", "localhost"), ("SERVER_PORT", "8000"),
        ("SERVER_PROTOCOL", "HTTP/1.1"), ("REMOTE_ADDR", "127.0.0.1"), ("REMOTE_PORT", "40000"),
        ("RAW_URI", path + ("?" + query if query else "")),
        ("REQUEST_URI", path + ("?" + query if query else "")),
        ("CONTENT_LENGTH", str(len(body))),
        ("wsgi.url_scheme", scheme), ("hearth.request_id", request_id),
    ]
    if body:
        env.append(("CONTENT_TYPE", "application/octet-stream"))
    env.extend(headers)
    return P.encode_pairs(env)


class Worker:
    def __init__(self, daemon, worker_id, pid, slots):
        self.daemon = daemon
        self.worker_id = worker_id
        self.pid = pid
        self.slots = slots
        self.ready = None
        self._rid = 0

    def send_request(self, path="/", method="GET", query="", body=b"", headers=(), slot=0,
                     scheme="http", request_id=None):
        if request_id is None:
            self._rid += 1
            request_id = "w%d-%d" % (self.worker_id, self._rid)
        block = environ_block(method, path, query, body, headers, scheme, request_id)
        self.slots[slot].sendall(HEADER.pack(P.REQUEST, 0, 0, len(block), len(body)) + block + body)
        return request_id

    def read_response(self, slot=0, timeout=5.0):
        frames = []
        deadline = time.monotonic() + timeout
        while True:
            f = read_frame(self.slots[slot], max(0.01, deadline - time.monotonic()))
            assert f.type in (P.RESPONSE_START, P.RESPONSE_BODY, P.RESPONSE_END), f
            frames.append(f)
            if f.type == P.RESPONSE_END:
                return Response(frames)

    def request(self, path="/", timeout=5.0, **kw):
        slot = kw.get("slot", 0)
        self.send_request(path, **kw)
        return self.read_response(slot, timeout)

    def signal(self, sig):
        os.kill(self.pid, sig)

    def wait_exit(self, timeout=2.0):
        code = wait_pid(self.pid, timeout)
        if code is not None:
            self.daemon.pids.discard(self.pid)
        return code


class FakeDaemon:
    def __init__(self, tmp_path, app="testapp:application", preload=True, threads=1,
                 extra_args=(), env=None, validate=False, pythonpath=(APPS,)):
        self.tmp_path = Path(tmp_path)
        self.app = app
        self.preload = preload
        self.threads = threads
        self.extra_args = list(extra_args)
        self.env = dict(env or {})
        self.validate = validate
        self.pythonpath = list(pythonpath)
        self.pids = set()
        self.proc = None
        self.ctrl = None
        self.death_w = None
        self.stderr_path = self.tmp_path / "hearth-stderr.log"
        self.workers = []
        self.ready = None

    # -- zygote ---------------------------------------------------------------------------

    def start(self, expect_ready=True, timeout=15.0, wait=True):
        ctrl, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        death_r, death_w = os.pipe()
        self.ctrl, self.death_w = ctrl, death_w
        args = [PYTHON, str(ZYGOTE), "--control-fd", str(child.fileno()),
                "--death-fd", str(death_r), "--app", self.app,
                "--preload" if self.preload else "--no-preload",
                "--threads", str(self.threads), "--generation", "1"]
        for p in self.pythonpath:
            args += ["--pythonpath", str(p)]
        args += self.extra_args
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        env.update({"HEARTH_PRELOAD": "1" if self.preload else "0", "HEARTH_WORKER_ID": "zygote",
                    "HEARTH_TEST_VALIDATE": "1" if self.validate else "0"})
        env.update(self.env)
        with open(self.stderr_path, "ab") as errf:
            self.proc = subprocess.Popen(args, pass_fds=(child.fileno(), death_r), stdin=subprocess.DEVNULL,
                                         stdout=errf, stderr=errf, env=env, start_new_session=True,
                                         cwd=str(self.tmp_path))
        self.pids.add(self.proc.pid)
        child.close()
        os.close(death_r)
        if not wait:
            return None
        frame = read_frame(ctrl, timeout)
        self.ready = frame
        if expect_ready:
            assert frame.type == P.ZYGOTE_READY, (frame, self.stderr())
        return frame

    def send_ctrl(self, ftype, payload=b"", fds=()):
        data = HEADER.pack(ftype, 0, 0, len(payload), 0) + payload
        if fds:
            socket.send_fds(self.ctrl, [data], list(fds))
        else:
            self.ctrl.sendall(data)

    def fork(self, worker_id=1, nslots=None, expect_ready=True, timeout=15.0):
        if nslots is None:  # the zygote's answer (threads, or concurrency for ASGI), else threads
            slots = self.ready.json().get("slots") if self.ready is not None else None
            nslots = slots if slots else self.threads
        pairs = [socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(nslots)]
        ours = [a for a, _ in pairs]
        theirs = [b for _, b in pairs]
        payload = json.dumps({"worker_id": worker_id, "generation": 1}).encode()
        self.send_ctrl(P.FORK, payload, [s.fileno() for s in theirs])
        for s in theirs:
            s.close()
        frame = read_frame(self.ctrl, timeout)
        if frame.type != P.FORKED:
            for s in ours:
                s.close()
            return frame
        info = frame.json()
        assert info["worker_id"] == worker_id
        w = Worker(self, worker_id, info["pid"], ours)
        self.pids.add(w.pid)
        self.workers.append(w)
        if expect_ready:
            w.ready = read_frame(ours[0], timeout)
            assert w.ready.type == P.WORKER_READY, (w.ready, self.stderr())
        return w

    def stderr(self):
        try:
            return self.stderr_path.read_text("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def wait_stderr(self, needle, timeout=3.0):
        deadline = time.monotonic() + timeout
        while True:
            text = self.stderr()
            if needle in text:
                return text
            if time.monotonic() >= deadline:
                return text
            time.sleep(0.02)

    def zygote_exit(self, timeout=2.0):
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self.pids.discard(self.proc.pid)
        return code

    def close_death_pipe(self):
        if self.death_w is not None:
            os.close(self.death_w)
            self.death_w = None

    # -- teardown -------------------------------------------------------------------------

    def close(self):
        for w in self.workers:
            for s in w.slots:
                s.close()
        for pid in list(self.pids):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            if self.proc is not None and pid == self.proc.pid:
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    pass
            else:
                wait_pid(pid, 5)
            self.pids.discard(pid)
        if self.ctrl is not None:
            self.ctrl.close()
        self.close_death_pipe()
        reap_strays()


def _children():
    """(pid, state, cmdline) of our direct children, from /proc."""
    me = os.getpid()
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open("/proc/%s/cmdline" % name, "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if int(fields[1]) == me:
            out.append((int(name), fields[0], cmdline))
    return out


def reap_strays(timeout=2.0):
    """Reap workers a failed test never learned the pid of (reparented to us, the subreaper).

    With the death pipe closed they exit on their own; ones still running our zygote
    script after the deadline are killed by pid. Other children are left alone.
    """
    deadline = time.monotonic() + timeout
    while True:
        strays = [(pid, state) for pid, state, cmd in _children()
                  if state == "Z" or str(ZYGOTE).encode() in cmd]
        for pid, state in strays:
            if state == "Z" or time.monotonic() >= deadline:
                if state != "Z":
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                wait_pid(pid, 1.0)
        if not strays or time.monotonic() >= deadline + 1.0:
            return
        time.sleep(0.01)
