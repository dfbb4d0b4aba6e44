"""Faults under load (issue 8): workers SIGKILLed under wrk, the zygote killed, apps
that crash, block or answer garbage, hostile clients (slowloris, disconnects,
pipelining floods), a full or missing spool directory, privilege drop and the
/metrics token. Loopback only; every loop is bounded; every process is stopped by PID.

What the older files already cover is not repeated here: a single SIGKILLed worker
and retry_methods (test_failures.py), import failures (test_lifecycle.py), header and
body limits (test_limits.py), leaking workers (test_recycle.py), the HTTP/2
rapid-reset and CONTINUATION floods (test_http2.py), 10,000 idle connections
(bench/idleconns.py, docs/benchmarks.md).
"""
import contextlib
import json
import os
import pathlib
import random
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

import pytest

import hhttp
from conftest import APPS, http_status, pid_exited, poll, wait_exited
from lifecycle_util import ctl, parse_wrk, ready_workers, start, start_wrk, status, wait_status

APP = "ft_faults:app"


def metric(admin_url, name, token=None):
    """The value of a sample in /metrics (summed over its labels, such as app=)."""
    req = urllib.request.Request(admin_url + "/metrics")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=5) as r:
        text = r.read().decode()
    values = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
              if line.startswith(name + " ") or line.startswith(name + "{")]
    if not values:
        raise AssertionError(f"{name} missing from /metrics")
    return sum(values)


def proc_ids(pid):
    """(real uid, real gid, groups) of a live process, from /proc/PID/status."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.split()
    return int(fields["Uid"][0]), int(fields["Gid"][0]), [int(g) for g in fields.get("Groups", [])], \
        fields["Uid"], fields["Gid"]


def timed_get(port, path="/", timeout=5):
    t0 = time.monotonic()
    try:
        r = hhttp.get(port, path, timeout=timeout)
        return r.status, time.monotonic() - t0
    except (OSError, hhttp.ConnectionClosed):
        return None, time.monotonic() - t0


# --- workers SIGKILLed under load -----------------------------------------------------

KILL_SECONDS = 30


def test_sigkill_random_workers_every_second_under_wrk(hearthd, tmp_path):
    """One random ready worker SIGKILLed every second for 30 s under wrk -t2 -c32 (GET):
    wrk ends on time, no connection hangs, every request is answered 200 (a GET whose
    worker died before writing is retried on another worker; a 502 needs the retry's
    worker to die too), all workers come back and the daemon is fine."""
    srv, sock = start(hearthd, tmp_path, APP, workers=4, ready_workers=4)
    wrk, out = start_wrk(srv.url + "/", KILL_SECONDS + 2, threads=2, connections=32, out_dir=tmp_path)
    killed, errors = [], []
    stop = threading.Event()

    def killer():
        rng = random.Random(8)
        t0 = time.monotonic()
        for tick in range(KILL_SECONDS):  # on a fixed beat, however long `status` takes
            if stop.wait(max(0.0, t0 + tick - time.monotonic())):
                break
            try:
                pids = [w["pid"] for w in ready_workers(status(sock))]
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))
                pids = []
            if pids:
                victim = rng.choice(pids)
                try:
                    os.kill(victim, signal.SIGKILL)
                    killed.append(victim)
                except ProcessLookupError:
                    pass

    t = threading.Thread(target=killer, daemon=True)
    t.start()
    try:
        rc = wrk.wait(timeout=KILL_SECONDS + 20)
    except subprocess.TimeoutExpired:
        wrk.kill()
        wrk.wait()
        pytest.fail("wrk hung: a connection never finished")
    finally:
        stop.set()
        t.join(timeout=10)
    text = out.read_text()
    res = parse_wrk(text)
    print(f"\nkilled {len(killed)} workers; wrk: {res}")
    assert rc == 0, text
    assert not errors, errors
    assert len(killed) >= KILL_SECONDS - 3, f"only {len(killed)} kills: {killed}"
    assert res["requests"] > 1000, text
    # wrk's "timeout" column counts requests unanswered after 5 s: a hang.
    connect, read, write, timeouts = res["socket_errors"] or (0, 0, 0, 0)
    assert timeouts == 0 and connect == 0, text
    # One thread per worker: a kill hits at most the one request that worker holds,
    # and a GET that got no byte yet is retried elsewhere. A failure (a 502, or a
    # connection closed because the worker died mid-response) needs the kill to land
    # inside a response write or on the retry's worker too: expected ~0 (measured: 0
    # of ~390,000 requests, 29 retried); allowed: one in ten kills.
    failures = res["non_2xx"] + read + write
    assert failures <= max(3, len(killed) // 10), text
    retried = metric(srv.admin_url, "hearth_requests_retried_total")
    print(f"retried {retried:.0f} requests")
    st = wait_status(sock, lambda s: len(ready_workers(s)) == 4, 20, "all 4 workers back")
    assert not set(killed) & {w["pid"] for w in st["workers"]}
    assert st["restarts"] >= len(killed) and st["crash_loop"] is False, st
    assert srv.proc.poll() is None
    assert all(hhttp.get(srv.port, "/").status == 200 for _ in range(8))
    assert wait_exited(killed, 5) == []


# --- the zygote -----------------------------------------------------------------------

def test_sigkilled_zygote_is_rebuilt_and_the_pool_recovers(hearthd, tmp_path):
    srv, sock = start(hearthd, tmp_path, APP, workers=2, ready_workers=2)
    st = status(sock)
    old_zygote = st["zygote"]["pid"]
    assert old_zygote > 0, st
    os.kill(old_zygote, signal.SIGKILL)
    assert wait_exited([old_zygote], 5) == []
    srv.wait_log(rf"zygote.*exited unexpectedly pid={old_zygote}.*starting a new one", timeout=5)
    st = wait_status(sock, lambda s: s["zygote"]["pid"] not in (0, -1, old_zygote)
                     and s["zygote"]["state"] == "ready", 15, "a new zygote")
    # Workers still serve; a killed worker is forked from the new zygote.
    assert all(hhttp.get(srv.port, "/").status == 200 for _ in range(4))
    victim = ready_workers(st)[0]["pid"]
    os.kill(victim, signal.SIGKILL)
    st = wait_status(sock, lambda s: len(ready_workers(s)) == 2
                     and victim not in {w["pid"] for w in s["workers"]}, 15, "a replacement worker")
    # And a rolling reload still works.
    r = ctl(sock, "--json", "reload")
    assert r.returncode == 0 and json.loads(r.stdout)["ok"], r.stdout + r.stderr
    assert all(hhttp.get(srv.port, "/").status == 200 for _ in range(4))
    assert srv.proc.poll() is None


# --- apps that misbehave --------------------------------------------------------------

def test_misbehaving_apps_are_contained_and_reported(hearthd, tmp_path):
    """Segfault, a non-str header, a bad status line, a request that blocks forever:
    each gets a 5xx, is logged, and the pool is whole again; the daemon never exits."""
    srv, sock = start(hearthd, tmp_path, APP, "--timeout", "1s", workers=2, ready_workers=2)
    # A GET is retried once on another worker, which segfaults too: 502, both replaced.
    assert hhttp.get(srv.port, "/segv").status == 502
    srv.wait_log(r"exited pid=\d+ .*(SIGSEGV|signal 11)", timeout=5)
    st = wait_status(sock, lambda s: len(ready_workers(s)) == 2, 15, "replacements after the segfault")
    pids = {w["pid"] for w in ready_workers(st)}
    for path in ("/bad-header", "/bad-status"):
        r = hhttp.get(srv.port, path)
        assert r.status == 500, (path, r)
        assert b"never" not in r.body
    srv.wait_log(r"Error handling request GET /bad-header", timeout=5)
    srv.wait_log(r"Error handling request GET /bad-status", timeout=5)
    # A malformed response costs the request, not the worker.
    assert {w["pid"] for w in ready_workers(status(sock))} == pids
    t0 = time.monotonic()
    assert hhttp.get(srv.port, "/block", timeout=10).status == 504
    assert time.monotonic() - t0 < 3
    st = wait_status(sock, lambda s: len(ready_workers(s)) == 2, 15, "the pool whole again")
    assert st["crash_loop"] is False
    assert all(hhttp.get(srv.port, "/").status == 200 for _ in range(6))
    assert srv.proc.poll() is None
    assert "header name and value must be str" in srv.log(), srv.log_tail()


# --- hostile clients ------------------------------------------------------------------

SLOW_TOML = '[http]\nheader_timeout = "3s"\n'


def test_slowloris_is_cut_off_while_others_are_served(hearthd):
    """200 connections each trickling a header byte every second: a normal client
    keeps getting answers in well under a second, and header_timeout closes them all."""
    srv = hearthd(APP, workers=2, toml=SLOW_TOML)
    conns = []
    for _ in range(200):
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        conns.append(s)
    latencies, closed = [], set()
    t_end = time.monotonic() + 4.5
    next_byte = time.monotonic()
    while time.monotonic() < t_end and len(closed) < len(conns):
        if time.monotonic() >= next_byte:
            for i, s in enumerate(conns):
                if i not in closed:
                    try:
                        s.send(b"X")
                    except OSError:
                        closed.add(i)
            next_byte += 1.0
        code, dt = timed_get(srv.port)
        assert code == 200, code
        latencies.append(dt)
        readable, _, _ = select.select([s for i, s in enumerate(conns) if i not in closed], [], [], 0.1)
        for s in readable:
            closed.add(conns.index(s))
    # Whatever is still open must be closed by now (3 s header_timeout + slack).
    deadline = time.monotonic() + 3
    for i, s in enumerate(conns):
        if i in closed:
            continue
        s.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            data = s.recv(4096)
            assert data == b"" or data.startswith(b"HTTP/1.1 408"), data[:80]
            closed.add(i)
        except socket.timeout:
            pass
    for s in conns:
        s.close()
    print(f"\n{len(latencies)} requests during the slowloris, max {max(latencies) * 1000:.0f} ms")
    assert len(closed) == len(conns), f"{len(conns) - len(closed)} slowloris connections still open"
    assert max(latencies) < 1.0
    assert srv.proc.poll() is None


def test_clients_leaving_mid_request_and_mid_response_leak_nothing(hearthd):
    srv = hearthd(APP, workers=2, ready_workers=2)
    # Mid-request: a promised 1 MB body, 10 KB sent, then gone.
    for _ in range(20):
        with hhttp.Conn(srv.port) as c:
            c.send(b"POST /echo-len HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + b"a" * 10000)
    # Mid-response: an 800 KiB streamed answer, the client reads a little and leaves.
    for _ in range(10):
        c = hhttp.Conn(srv.port, rcvbuf=4096)
        c.send(hhttp.request("GET", "/stream?n=50"))
        c.sock.recv(1024)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        c.close()
    # Everything settles: nothing in flight, nothing queued, both workers free.
    poll(lambda: metric(srv.admin_url, "hearth_requests_in_flight") == 0, 10, what="in-flight back to 0")
    assert metric(srv.admin_url, "hearth_queue_length") == 0
    poll(lambda: metric(srv.admin_url, "hearth_busy_ratio") == 0, 10, what="every worker slot free")
    assert metric(srv.admin_url, "hearth_client_aborts_total") >= 10
    r = hhttp.fetch(srv.port, "POST", "/echo-len", body=b"b" * 200000)
    assert r.status == 200 and r.body == b"200000\n"
    assert all(hhttp.get(srv.port, "/").status == 200 for _ in range(4))


def test_pipelining_flood_is_answered_in_order_and_others_are_served(hearthd):
    srv = hearthd(APP, workers=2, ready_workers=2)
    n = 2000
    flood = hhttp.Conn(srv.port, timeout=30)
    payload = b"".join(hhttp.request("GET", f"/?i={i}") for i in range(n))
    sender = threading.Thread(target=flood.send, args=(payload,), daemon=True)
    sender.start()
    got = []
    lat = []

    def reader():
        for _ in range(n):
            r = flood.read_response()
            m = re.search(rb" i=(\d+)\n$", r.body)
            got.append((r.status, int(m.group(1)) if m else None))

    rt = threading.Thread(target=reader, daemon=True)
    rt.start()
    while rt.is_alive():
        code, dt = timed_get(srv.port)
        assert code == 200
        lat.append(dt)
        rt.join(0.05)
    sender.join(5)
    flood.close()
    assert [g[0] for g in got] == [200] * n, f"{len(got)} answers, {sum(1 for g in got if g[0] != 200)} not 200"
    # Answered in order: the i-th response echoes the i-th request's index.
    assert [g[1] for g in got] == list(range(n)), next(
        (f"answer {k} echoes request {g[1]}" for k, g in enumerate(got) if g[1] != k), "short")
    assert max(lat) < 1.0, max(lat)


# --- the spool directory --------------------------------------------------------------

BIG = b"z" * (1 << 20)  # over body_buffer_size (64 KiB): spooled to temp_dir


@contextlib.contextmanager
def _spool_dir(tmp_path, kind):
    """'missing': a dir removed after start; 'full': a 256 KiB tmpfs (skipped, and said
    so, where this user may not mount)."""
    if kind == "missing":
        yield tmp_path / "gone"
        return
    mnt = pathlib.Path(tempfile.mkdtemp(prefix="ft-full-"))
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    try:
        if r.returncode != 0:
            pytest.skip(f"disk-full case not run: mount -t tmpfs failed: {r.stderr.strip()}")
        yield mnt
    finally:
        if r.returncode == 0:
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True)  # lazy: even if still busy
        shutil.rmtree(mnt, ignore_errors=True)


@pytest.mark.parametrize("kind", ["missing", "full"])
def test_unusable_spool_dir_fails_only_that_request(hearthd, tmp_path, kind):
    """temp_dir removed after start, or a 256 KiB tmpfs (disk full): a 1 MiB body gets a
    5xx; small bodies and GETs are fine; the daemon lives."""
    with _spool_dir(tmp_path, kind) as d:
        d.mkdir(exist_ok=True)
        srv = hearthd(APP, workers=1, toml=f'temp_dir = "{d}"\n')
        if kind == "missing":
            d.rmdir()
        r = hhttp.fetch(srv.port, "POST", "/echo-len", body=BIG, timeout=10)
        assert r.status == 500 and b"could not be stored" in r.body, (kind, r)
        srv.wait_log(r"request body spool failed", timeout=5)
        small = hhttp.fetch(srv.port, "POST", "/echo-len", body=b"s" * 1000)
        assert small.status == 200 and small.body == b"1000\n"
        assert hhttp.get(srv.port, "/").status == 200
        r = hhttp.fetch(srv.port, "POST", "/echo-len", body=BIG, timeout=10)
        assert 500 <= r.status < 600, (kind, r)
        if kind == "full":
            # The failed spools were released: a body that fits the 256 KiB is stored.
            r = hhttp.fetch(srv.port, "POST", "/echo-len", body=b"f" * 150000, timeout=10)
            assert r.status == 200 and r.body == b"150000\n", r
        assert srv.proc.poll() is None
        srv.stop()


# --- privileges -----------------------------------------------------------------------

def _needs_root_and_nobody():
    import pwd
    if os.geteuid() != 0:
        pytest.skip("needs root")
    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user 'nobody'")


def _env_without_allow_root():
    env = dict(os.environ)
    env.pop("HEARTH_ALLOW_ROOT", None)
    return env


def test_root_without_user_or_allow_root_refuses_to_start(hearthd):
    _needs_root_and_nobody()
    srv = hearthd(APP, workers=1, wait=False, env=_env_without_allow_root())
    assert srv.wait_exit(10) == 2, srv.log_tail()
    log = srv.log()
    assert "started as root" in log and "allow_root = true" in log and 'user = "NAME"' in log, log
    assert "listening" not in log  # refused before binding anything
    # user = "root" is root too.
    srv = hearthd(APP, "--user", "root", workers=1, wait=False, env=_env_without_allow_root())
    assert srv.wait_exit(10) == 2 and "is root" in srv.log(), srv.log_tail()
    srv = hearthd(APP, "--user", "no-such-user-ft", workers=1, wait=False, env=_env_without_allow_root())
    assert srv.wait_exit(10) == 2 and "'no-such-user-ft' does not exist" in srv.log(), srv.log_tail()


def _free_privileged_port():
    for port in random.Random().sample(range(600, 1000), 60):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    pytest.skip("no free port below 1024")


def test_user_nobody_binds_a_privileged_port_then_everything_runs_as_nobody(hearthd, request):
    pw = _needs_root_and_nobody()
    # Files nobody can read (the app) and write (spool, control socket dir).
    base = pathlib.Path(tempfile.mkdtemp(prefix="ft-priv-", dir="/tmp"))
    request.addfinalizer(lambda: shutil.rmtree(base, ignore_errors=True))
    base.chmod(0o755)
    app_dir = base / "app"
    app_dir.mkdir(mode=0o755)
    shutil.copy(APPS / "ft_faults.py", app_dir / "ft_faults.py")
    (app_dir / "ft_faults.py").chmod(0o644)
    spool = base / "spool"
    ctl_dir = base / "ctl"
    for d in (spool, ctl_dir):
        d.mkdir(mode=0o700)
        os.chown(d, pw.pw_uid, pw.pw_gid)
    sock = ctl_dir / "hearthd.sock"
    port = _free_privileged_port()
    srv = hearthd(APP, "--user", "nobody", "--control-socket", sock, "-b", f"127.0.0.1:{port}",
                  workers=2, ready_workers=2, chdir=app_dir, toml=f'temp_dir = "{spool}"\n',
                  env=_env_without_allow_root())
    srv.wait_log(r"running as user nobody \(uid 65534")
    assert hhttp.get(port, "/").status == 200  # the privileged port bound as root
    st = status(sock)  # root may use the socket of a daemon running as nobody
    pids = {"daemon": srv.pid, "zygote": st["zygote"]["pid"],
            **{f"worker {w['id']}": w["pid"] for w in ready_workers(st)}}
    assert len(pids) == 4, st
    for what, pid in pids.items():
        uid, gid, groups, uids, gids = proc_ids(pid)
        assert set(uids) == {str(pw.pw_uid)}, (what, uids)
        assert set(gids) == {str(pw.pw_gid)}, (what, gids)
        assert 0 not in groups, (what, groups)
    # The daemon, now nobody, still reads its workers' memory (same uid, dumpable).
    st = wait_status(sock, lambda s: all(w.get("pss_bytes", 0) > 0 for w in ready_workers(s)),
                     15, "worker memory sampled")
    # Spooled bodies go through temp_dir as nobody.
    r = hhttp.fetch(srv.port, "POST", "/echo-len", body=BIG, timeout=10)
    assert r.status == 200 and r.body == b"%d\n" % len(BIG), r
    # Another uid still cannot reach the control socket.
    r = ctl(sock, "stop", user="daemon")
    assert r.returncode != 0, r.stdout
    # Workers replaced after a crash are still nobody.
    victim = pids["worker " + str(ready_workers(st)[0]["id"])]
    os.kill(victim, signal.SIGKILL)
    st = wait_status(sock, lambda s: len(ready_workers(s)) == 2
                     and victim not in {w["pid"] for w in s["workers"]}, 15, "a replacement")
    for w in ready_workers(st):
        assert proc_ids(w["pid"])[0] == pw.pw_uid
    # A rolling reload builds a new zygote and workers: still nobody, still serving.
    r = ctl(sock, "--json", "reload")
    assert r.returncode == 0 and json.loads(r.stdout)["ok"], r.stdout + r.stderr
    st = wait_status(sock, lambda s: len(ready_workers(s, s["generation"])) == 2, 15, "generation 2")
    assert st["generation"] == 2
    for pid in [st["zygote"]["pid"]] + [w["pid"] for w in ready_workers(st)]:
        assert proc_ids(pid)[0] == pw.pw_uid, pid
    assert hhttp.get(port, "/").status == 200
    assert srv.stop() == 0, srv.log_tail()
    assert not sock.exists(), "the daemon (now nobody) could not remove its control socket"


# --- the /metrics token ----------------------------------------------------------------

def test_metrics_token_guards_metrics_but_not_the_probes(hearthd):
    srv = hearthd(APP, "--metrics-token", "ft-s3cret", workers=1)
    assert http_status(srv.admin_url + "/metrics") == 401
    req = urllib.request.Request(srv.admin_url + "/metrics", headers={"Authorization": "Bearer wrong"})
    try:
        urllib.request.urlopen(req, timeout=5)
        raise AssertionError("a wrong token was accepted")
    except urllib.error.HTTPError as e:
        assert e.code == 401
    assert metric(srv.admin_url, "hearth_requests_in_flight", token="ft-s3cret") == 0
    assert http_status(srv.admin_url + "/healthz") == 200
    assert http_status(srv.admin_url + "/readyz") == 200
    assert "/metrics is open" not in srv.log()  # loopback admin_bind: no warning either way
