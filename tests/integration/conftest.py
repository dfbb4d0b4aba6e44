"""Fixtures that run the real hearthd binary against the apps in ./apps.

`hearthd` (function scope) and `hearthd_module` (module scope) are factories:

    srv = hearthd("basic:app", "--threads", "2", workers=1, toml='[http]\\n...')

starts build/bin/hearthd on 127.0.0.1:0 (and the admin listener on 127.0.0.1:0) in a
temp dir, with stderr/stdout captured to files, waits (deadline, no fixed sleeps) until
the admin /readyz answers 200, and returns a `Hearthd`. Teardown always stops the daemon
by PID (SIGTERM, up to 10 s, then SIGKILL) and SIGKILLs any zygote/worker PID learned
from the log that is still alive. Nothing is ever killed by name.
"""
import os
import pathlib
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
HEARTHD = pathlib.Path(os.environ.get("HEARTHD", ROOT / "build" / "bin" / "hearthd"))
APPS = HERE / "apps"
PYTHON = "/usr/bin/python3"
READY_DEADLINE = 20.0
STOP_DEADLINE = 10.0

# The suite runs as root in CI containers; hearthd refuses that unless told
# (docs/security.md). Every hearthd a test starts inherits this; test_faults.py
# covers the refusal and the drop to `user`.
if os.geteuid() == 0:
    os.environ.setdefault("HEARTH_ALLOW_ROOT", "1")

HTTP_RE = re.compile(r"\[http\] listening on (http://\S+)")
ADMIN_RE = re.compile(r"\[admin\] listening on (http://\S+)")
ZYGOTE_RE = re.compile(r"zygote ready pid=(\d+)")
WORKER_RE = re.compile(r"worker (\d+) ready pid=(\d+)")

# Lines in hearthd's stderr that mean a validated app broke PEP 3333.
VIOLATION_PATTERNS = (
    "WSGI-VALIDATOR-VIOLATION",                          # apps/wsgi_strict.py
    "Iterator garbage collected without being closed",  # wsgiref.validate itself
)


def pid_exited(pid):
    """True when PID is gone or a zombie (PID 1 here does not reap orphans)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return True
    state = stat.rsplit(")", 1)[1].split()[0]
    return state in ("Z", "X")


def wait_exited(pids, timeout):
    """Poll until every pid exited; returns the ones still alive at the deadline."""
    deadline = time.monotonic() + timeout
    alive = [p for p in pids if not pid_exited(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.02)
        alive = [p for p in alive if not pid_exited(p)]
    return alive


def _looks_like_ours(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read()
    except OSError:
        return False
    return b"python" in cmd or b"hearth" in cmd


def http_status(url, timeout=2.0):
    """Status of a GET, or None when the connection fails."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except (urllib.error.URLError, OSError):
        return None


def poll(predicate, timeout, interval=0.02, what="condition"):
    """Call predicate until it returns something truthy; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Hearthd:
    def __init__(self, args, workdir, name, env=None):
        self.args = [str(HEARTHD), *args]
        self.env = env
        self.workdir = pathlib.Path(workdir)
        self.stderr_path = self.workdir / f"{name}.stderr.log"
        self.stdout_path = self.workdir / f"{name}.stdout.log"
        self.proc = None
        self.known_pids = set()
        self._files = []

    # --- process ---
    def start(self):
        err = open(self.stderr_path, "wb")
        out = open(self.stdout_path, "wb")
        self._files = [err, out]
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=out,
                                     stderr=err, cwd=self.workdir, env=self.env)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def log(self):
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stdout(self):
        try:
            return self.stdout_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, n=60):
        return "\n".join(self.log().splitlines()[-n:])

    def _scan(self):
        text = self.log()
        for m in ZYGOTE_RE.finditer(text):
            self.known_pids.add(int(m.group(1)))
        for m in WORKER_RE.finditer(text):
            self.known_pids.add(int(m.group(2)))
        return text

    # --- what the log says ---
    def _url(self, regex):
        m = regex.search(self.log())
        return m.group(1).rstrip("/") if m else None

    @property
    def url(self):
        return self._url(HTTP_RE)

    @property
    def port(self):
        return int(self.url.rsplit(":", 1)[1])

    @property
    def admin_url(self):
        return self._url(ADMIN_RE)

    def zygote_pid(self):
        m = ZYGOTE_RE.search(self._scan())
        return int(m.group(1)) if m else None

    def worker_pids(self):
        """{worker_id: pid} for every 'worker W ready pid=P' line (latest wins)."""
        return {int(w): int(p) for w, p in WORKER_RE.findall(self._scan())}

    def worker_ready_lines(self):
        return len(WORKER_RE.findall(self._scan()))

    # --- waiting ---
    def wait_log(self, regex, timeout=READY_DEADLINE, count=1):
        regex = re.compile(regex) if isinstance(regex, str) else regex

        def found():
            self._dead_check()
            hits = regex.findall(self._scan())
            return hits if len(hits) >= count else None

        try:
            return poll(found, timeout, what=f"{regex.pattern!r} x{count} in hearthd's log")
        except AssertionError as e:
            raise AssertionError(f"{e}\n--- hearthd stderr ---\n{self.log_tail()}") from None

    def _dead_check(self):
        rc = self.proc.poll()
        if rc is not None:
            raise AssertionError(f"hearthd exited with status {rc} before it was ready\n"
                                 f"--- hearthd stderr ---\n{self.log_tail()}")

    def wait_ready(self, timeout=READY_DEADLINE, workers=None):
        deadline = time.monotonic() + timeout
        while True:
            self._dead_check()
            admin = self.admin_url
            if admin and self.url and http_status(admin + "/readyz", timeout=1.0) == 200:
                if workers is None or self.worker_ready_lines() >= workers:
                    return self
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"hearthd not ready within {timeout}s (http={self.url} admin={admin})\n"
                    f"--- hearthd stderr ---\n{self.log_tail()}")
            time.sleep(0.05)

    def wait_exit(self, timeout=STOP_DEADLINE):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def send_signal(self, sig):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def stop(self, sig=signal.SIGTERM, timeout=STOP_DEADLINE):
        """Signal hearthd and wait for it; returns its exit status (None if it hung)."""
        self._scan()
        self.send_signal(sig)
        return self.wait_exit(timeout)

    def cleanup(self):
        if self.proc is None:
            return
        self._scan()
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            if self.wait_exit(STOP_DEADLINE) is None:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self._scan()
        for pid in sorted(self.known_pids):
            if not pid_exited(pid) and _looks_like_ours(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for f in self._files:
            f.close()

    # --- validator check ---
    def violations(self, since=0):
        text = self.log()[since:]
        return [line for line in text.splitlines()
                if any(p in line for p in VIOLATION_PATTERNS)]


def _factory(workdir_fn, started):
    counter = [0]

    def start(app, *extra, workers=2, toml=None, wait=True, ready_workers=None,
              chdir=APPS, admin=True, timeout=READY_DEADLINE, env=None):
        if not HEARTHD.exists():
            pytest.skip(f"{HEARTHD} is missing: build it first (make build)")
        counter[0] += 1
        workdir = workdir_fn()
        name = f"hearthd{counter[0]}"
        args = ([app] if app else []) + ["--python", PYTHON, "--chdir", str(chdir),
                                         "-b", "127.0.0.1:0"]
        if admin:
            args += ["--admin-bind", "127.0.0.1:0"]
        if workers is not None:
            args += ["-w", str(workers)]
        if toml is not None:
            cfg = pathlib.Path(workdir) / f"{name}.toml"
            cfg.write_text(toml)
            args += ["-c", str(cfg)]
        args += [str(a) for a in extra]
        h = Hearthd(args, workdir, name, env)
        started.append(h)
        h.start()
        if wait:
            h.wait_ready(timeout, workers=ready_workers)
        return h

    return start


@pytest.fixture
def hearthd(tmp_path):
    started = []
    yield _factory(lambda: tmp_path, started)
    for h in reversed(started):
        h.cleanup()


@pytest.fixture(scope="module")
def hearthd_module(tmp_path_factory):
    started = []
    yield _factory(lambda: tmp_path_factory.mktemp("hearthd"), started)
    for h in reversed(started):
        h.cleanup()


# --- the raw test app, plain and wrapped in wsgiref.validate -----------------------

BASIC_APPS = ["basic:app", "validated_basic:app"]


@pytest.fixture(scope="module", params=BASIC_APPS, ids=["raw", "validated"])
def basic_server(request, hearthd_module):
    """hearthd serving apps/basic.py (2 workers), once raw and once validated."""
    srv = hearthd_module(request.param, workers=2, ready_workers=2)
    yield srv
    assert not srv.violations(), "wsgiref.validate found PEP 3333 violations"


@pytest.fixture
def srv(basic_server):
    """basic_server, checking after each test that the validator stayed silent."""
    mark = len(basic_server.log())
    yield basic_server
    bad = basic_server.violations(mark)
    assert not bad, f"wsgiref.validate violations: {bad}"
