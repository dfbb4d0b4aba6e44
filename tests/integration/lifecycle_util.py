"""Helpers for the process-lifecycle tests (issue 3): hearthctl, status JSON, wrk,
apps copied into a temp dir. The `hearthd` fixtures themselves live in conftest.py."""
import concurrent.futures as cf
import json
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import time

import hhttp
from conftest import APPS, HEARTHD, ROOT, poll

# Next to the hearthd under test (build/bin, or build-asan/bin under `make test SANITIZE=1`).
HEARTHCTL = pathlib.Path(os.environ.get("HEARTHCTL", HEARTHD.parent / "hearthctl"))
CTL_TIMEOUT = 30.0


def socket_path(tmp_path):
    """A control-socket path short enough for sun_path (108 bytes), in its own dir."""
    d = pathlib.Path(tmp_path) / "ctl"
    if len(str(d / "hearthd.sock")) >= 100:
        d = pathlib.Path(tempfile.mkdtemp(prefix="lcctl", dir="/tmp"))
    d.mkdir(parents=True, exist_ok=True)
    return d / "hearthd.sock"


def start(hearthd, tmp_path, app, *extra, **kw):
    """Start hearthd with a control socket; returns (srv, socket path)."""
    sock = socket_path(tmp_path)
    srv = hearthd(app, "--control-socket", sock, *extra, **kw)
    return srv, sock


def ctl(sock, *args, user=None, timeout=CTL_TIMEOUT):
    """Run hearthctl --socket SOCK ARGS (as `user` via setpriv when given)."""
    cmd = [str(HEARTHCTL), "--socket", str(sock), *map(str, args)]
    if user is not None:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user_group(user)}", "--clear-groups",
               *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def user_group(user):
    import grp
    import pwd
    gid = pwd.getpwnam(user).pw_gid
    return grp.getgrgid(gid).gr_name


def status(sock):
    r = ctl(sock, "--json", "status")
    assert r.returncode == 0, f"hearthctl status failed ({r.returncode}): {r.stdout}{r.stderr}"
    return json.loads(r.stdout)


def ready_workers(st, generation=None):
    """The status JSON's workers in state ready (of one generation, if given)."""
    return [w for w in st["workers"] if w["state"] == "ready"
            and (generation is None or w["generation"] == generation)]


def wait_status(sock, pred, timeout, what):
    """Poll status JSON until pred(status) is truthy; returns that status."""
    last = {}

    def check():
        last["st"] = status(sock)
        return last["st"] if pred(last["st"]) else None

    try:
        return poll(check, timeout, interval=0.1, what=what)
    except AssertionError as e:
        raise AssertionError(f"{e}; last status: {json.dumps(last.get('st'))}") from None


def copy_app(tmp_path, name, version=None):
    """Copy apps/NAME.py into tmp_path/app (and write VERSION); returns that dir."""
    d = pathlib.Path(tmp_path) / "app"
    d.mkdir(exist_ok=True)
    shutil.copy(APPS / f"{name}.py", d / f"{name}.py")
    if version is not None:
        write_version(d, version)
    return d


def write_version(app_dir, version):
    tmp = pathlib.Path(app_dir) / "VERSION.tmp"
    tmp.write_text(version + "\n")
    os.replace(tmp, pathlib.Path(app_dir) / "VERSION")


def get(port, path="/", timeout=10):
    """(status, body) of a GET, or (None, error text) when the connection failed."""
    try:
        r = hhttp.get(port, path, timeout=timeout)
        return r.status, r.body.decode("utf-8", "replace")
    except (OSError, hhttp.ConnectionClosed) as e:
        return None, repr(e)


def get_many(port, path, n, concurrency=1, timeout=10):
    """n GETs with `concurrency` clients; list of (status, body) in completion order."""
    if concurrency == 1:
        return [get(port, path, timeout) for _ in range(n)]
    with cf.ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(lambda _: get(port, path, timeout), range(n)))


# --- wrk ---------------------------------------------------------------------------

def start_wrk(url, duration_s, threads=2, connections=64, out_dir=None):
    """Start wrk in the background (stdout to a file); returns (Popen, output path)."""
    exe = shutil.which("wrk")
    if exe is None:
        import pytest
        pytest.skip("wrk is not installed")
    out = pathlib.Path(out_dir or tempfile.mkdtemp(prefix="lcwrk")) / "wrk.out"
    f = open(out, "wb")
    p = subprocess.Popen([exe, f"-t{threads}", f"-c{connections}", f"-d{duration_s}s",
                          "--timeout", "5s", "--latency", url],
                         stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    f.close()
    return p, out


def parse_wrk(text):
    """The facts of wrk's summary: requests, non_2xx, socket_errors (dict or None)."""
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+),", text)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", text)
    sock = re.search(r"Socket errors:\s*connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                     text)
    return {
        "requests": int(m.group(1)) if m else 0,
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "non_2xx_line": bool(non2xx),
        "socket_errors": tuple(int(x) for x in sock.groups()) if sock else None,
        "socket_errors_line": bool(sock),
    }


# --- the log -------------------------------------------------------------------------

LOG_TS = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z ", re.M)


def log_times(text, pattern):
    """Seconds (UTC epoch, float) of every log line matching `pattern`."""
    import datetime
    out = []
    rx = re.compile(pattern)
    for line in text.splitlines():
        if rx.search(line):
            m = LOG_TS.match(line)
            if m:
                dt = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f")
                out.append(dt.replace(tzinfo=datetime.timezone.utc).timestamp())
    return out
