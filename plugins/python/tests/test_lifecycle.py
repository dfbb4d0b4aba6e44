"""Zygote and worker life: boot failures, lazy mode, threads, death pipe, signals."""

import os
import signal
import socket
import time

import pytest

import fakedaemon
from fakedaemon import P


def _fds(pid):
    return sorted(os.listdir("/proc/%d/fd" % pid))


# -- boot ---------------------------------------------------------------------------------


def test_import_failure_is_zygote_failed_exit_3(make_daemon):
    d = make_daemon(app="broken_import:application")
    f = d.start(expect_ready=False)
    assert f.type == P.ZYGOTE_FAILED
    text = f.payload.decode()
    assert "Traceback" in text and "cannot be imported (on purpose)" in text
    assert "broken_import.py" in text
    assert d.zygote_exit(5) == 3
    # Only the app's frames, and said once (the daemon logs the frame; nothing on stderr).
    for own in ("zygote.py", "loader.py", "importlib", "<frozen"):
        assert own not in text, f"{own} in the traceback:\n{text}"
    assert text.count("Traceback") == 1
    assert "cannot be imported" not in d.stderr()


@pytest.mark.parametrize("spec, needle", [
    ("testapp:no_such_thing", "no attribute 'no_such_thing'"),
    ("testapp:factory(1)", "factory arguments are not supported"),
    ("testapp:STATS", "not a WSGI callable"),
    ("no_such_module_xyz:app", "No module named 'no_such_module_xyz'"),
])
def test_bad_app_spec_is_zygote_failed(make_daemon, spec, needle):
    d = make_daemon(app=spec)
    f = d.start(expect_ready=False)
    assert f.type == P.ZYGOTE_FAILED
    assert needle in f.payload.decode()
    assert d.zygote_exit(5) == 3


def test_death_during_a_slow_import_stops_the_zygote(make_daemon, tmp_path):
    gate = tmp_path / "gate"
    d = make_daemon(app="gated_import:application", env={"HEARTH_TEST_GATE": str(gate)})
    d.start(wait=False)
    try:
        assert "waiting for the gate" in d.wait_stderr("waiting for the gate", 10)
        d.close_death_pipe()
        assert d.zygote_exit(2) == 0
    finally:
        gate.touch()


def test_import_watch_thread_is_gone_before_ready(make_daemon, tmp_path):
    gate = tmp_path / "gate"
    gate.touch()
    d = make_daemon(app="gated_import:application", env={"HEARTH_TEST_GATE": str(gate)})
    d.start()
    assert d.ready.json()["threads_after_import"] == 1
    assert d.fork(1).request("/").body == b"gated"


def test_factory_and_default_attribute(make_daemon):
    for spec, body in (("factory_app:create()", b"from factory"), ("threaded_import", b"threaded")):
        d = make_daemon(app=spec)
        d.start()
        assert d.fork(1).request("/").body == body
        d.close()


def test_lazy_mode_bad_spec_fails_in_zygote(make_daemon):
    d = make_daemon(app="testapp:factory(1)", preload=False)
    f = d.start(expect_ready=False)
    assert f.type == P.ZYGOTE_FAILED and "factory arguments" in f.payload.decode()
    assert d.zygote_exit(5) == 3


def test_buffered_stdout_is_not_repeated_by_workers(make_daemon):
    d = make_daemon(app="noisy_import:application")
    d.start()
    workers = [d.fork(i) for i in (1, 2)]
    for w in workers:
        assert w.request("/").body == b"noisy"
        w.signal(signal.SIGTERM)
        assert w.wait_exit(2) == 0
    d.send_ctrl(P.SHUTDOWN)
    assert d.zygote_exit(2) == 0
    assert d.stderr().count("NOISY-IMPORT-LINE") == 1


def test_threads_at_import_are_reported(make_daemon):
    d = make_daemon(app="threaded_import:application")
    d.start()
    assert d.ready.json()["threads_after_import"] == 2
    assert "unsafe" in d.wait_stderr("unsafe")


def test_lazy_mode(make_daemon):
    d = make_daemon(preload=False)
    d.start()
    assert d.ready.json()["preload"] is False
    w = d.fork(1)
    assert w.request("/hello").body == b"hello world"
    assert w.request("/env").json()["os.HEARTH_WORKER_ID"] == "1"


def test_lazy_import_failure_is_worker_failed(make_daemon):
    d = make_daemon(app="broken_import:application", preload=False)
    d.start()  # the zygote does not import the app
    w = d.fork(7, expect_ready=False)
    f = fakedaemon.read_frame(w.slots[0], 10)
    assert f.type == P.WORKER_FAILED
    assert "cannot be imported (on purpose)" in f.payload.decode()
    assert "Traceback" in f.payload.decode()
    assert w.wait_exit(5) == 3
    for own in ("worker.py", "loader.py", "importlib", "<frozen"):
        assert own not in f.payload.decode(), f.payload.decode()
    assert "cannot be imported" not in d.stderr()
    # The zygote is still fine.
    assert d.zygote_exit(0.1) is None


def test_chdir_and_pythonpath_come_first(make_daemon, tmp_path):
    appdir = tmp_path / "site"
    appdir.mkdir()
    (appdir / "siteapp.py").write_text(
        "import os, sys, json\n"
        "def application(environ, start_response):\n"
        "    start_response('200 OK', [('Content-Type', 'application/json')])\n"
        "    return [json.dumps({'cwd': os.getcwd(), 'path': sys.path[:3]}).encode()]\n")
    d = make_daemon(app="siteapp:application", extra_args=["--chdir", str(appdir)])
    d.start()
    got = d.fork(1).request("/").json()
    assert got["cwd"] == str(appdir)
    assert got["path"][0] == str(appdir)
    assert got["path"][1] == str(fakedaemon.APPS)
    assert got["path"][2] == str(fakedaemon.PLUGIN)


# -- forking ------------------------------------------------------------------------------


def test_several_workers_and_no_fd_leak(make_daemon):
    d = make_daemon()
    d.start()
    zpid = d.proc.pid
    before = _fds(zpid)
    workers = [d.fork(i) for i in range(1, 4)]
    assert len({w.pid for w in workers}) == 3
    assert _fds(zpid) == before  # the zygote closed its copies of the slot sockets
    for w in workers:
        env = w.request("/env").json()
        assert env["os.HEARTH_WORKER_ID"] == str(w.worker_id)
    # A worker holds its slots, the death pipe and std streams, not the control socket.
    ctrl_inode = os.readlink("/proc/%d/fd/%d" % (zpid, 3)) if os.path.exists("/proc/%d/fd/3" % zpid) else None
    for w in workers:
        links = {os.readlink("/proc/%d/fd/%s" % (w.pid, fd)) for fd in _fds(w.pid)}
        socket_links = [l for l in links if l.startswith("socket:")]
        assert len(socket_links) == 1, links
        if ctrl_inode and ctrl_inode.startswith("socket:"):
            assert ctrl_inode not in links


def test_fork_with_wrong_slot_count_fails_cleanly(make_daemon):
    d = make_daemon(threads=2)
    d.start()
    f = d.fork(5, nslots=1)
    assert f.type == P.FORK_FAILED
    info = f.json()
    assert info["worker_id"] == 5 and "expected 2" in info["error"]
    w = d.fork(6)
    assert w.request("/hello").body == b"hello world"


def test_shutdown(make_daemon):
    d = make_daemon()
    d.start()
    d.send_ctrl(P.SHUTDOWN)
    assert d.zygote_exit(2) == 0


def test_sigterm_stops_zygote(make_daemon):
    d = make_daemon()
    d.start()
    os.kill(d.proc.pid, signal.SIGTERM)
    assert d.zygote_exit(2) == 0


def test_control_eof_stops_zygote(make_daemon):
    d = make_daemon()
    d.start()
    w = d.fork(1)
    d.ctrl.shutdown(socket.SHUT_RDWR)
    assert d.zygote_exit(2) == 0
    assert w.request("/hello").body == b"hello world"  # workers are not tied to the control socket


def test_unknown_control_frame_closes(make_daemon):
    d = make_daemon()
    d.start()
    d.send_ctrl(0x7F)
    assert d.zygote_exit(2) == 1
    assert "unknown control frame" in d.wait_stderr("unknown control frame")


# -- threads ------------------------------------------------------------------------------


def test_two_threads_serve_two_slots_concurrently(make_daemon, mode):
    d = make_daemon(threads=2, validate=(mode == "validated"))
    d.start()
    w = d.fork(1)
    assert w.request("/env", slot=1).json()["multithread"] is True
    w.send_request("/wait", slot=0)  # blocks until /set arrives on the other slot
    assert w.request("/set", slot=1).body == b"set"
    assert w.read_response(slot=0).body == b"waited"
    for slot in (0, 1):
        assert w.request("/hello", slot=slot).body == b"hello world"


# -- death and signals --------------------------------------------------------------------


@pytest.mark.parametrize("threads", [1, 2])
def test_death_pipe_eof_stops_everyone(make_daemon, threads):
    d = make_daemon(threads=threads)
    d.start()
    w1 = d.fork(1)
    w2 = d.fork(2)
    w2.send_request("/sleep", query="30")  # even a busy worker goes
    t0 = time.monotonic()
    d.close_death_pipe()
    assert d.zygote_exit(2) == 0
    assert w1.wait_exit(2) == 0
    assert w2.wait_exit(2) == 0
    assert time.monotonic() - t0 < 2.5


def test_slot_eof_stops_worker(make_daemon):
    d = make_daemon()
    d.start()
    w = d.fork(1)
    w.slots[0].close()
    assert w.wait_exit(2) == 0


@pytest.mark.parametrize("ftype, length", [(0x7F, 0), (P.REQUEST, P.MAX_PAYLOAD + 1)])
def test_bad_frame_on_slot_exits_1(make_daemon, ftype, length):
    d = make_daemon()
    d.start()
    w = d.fork(1)
    w.slots[0].sendall(P.HEADER.pack(ftype, 0, 0, length, 0))
    assert w.wait_exit(2) == 1
    assert "protocol error" in d.wait_stderr("protocol error")


@pytest.mark.parametrize("threads", [1, 2])
def test_sigterm_idle_exits_0(make_daemon, threads):
    d = make_daemon(threads=threads)
    d.start()
    w = d.fork(1)
    for slot in range(threads):
        assert w.request("/hello", slot=slot).body == b"hello world"
    w.signal(signal.SIGTERM)
    assert w.wait_exit(2) == 0


@pytest.mark.parametrize("threads", [1, 2])
def test_sigterm_busy_finishes_then_exits(make_daemon, threads):
    d = make_daemon(threads=threads)
    d.start()
    w = d.fork(1)
    rid = w.send_request("/sleep", query="0.5")
    assert "[worker 1 req %s] sleeping-now" % rid in d.wait_stderr("sleeping-now")
    w.signal(signal.SIGTERM)
    assert w.wait_exit(0.1) is None  # still working
    r = w.read_response(timeout=5)
    assert r.body == b"slept" and not r.aborted
    assert w.wait_exit(2) == 0


def test_sigint_is_ignored(make_daemon):
    d = make_daemon()
    d.start()
    w = d.fork(1)
    w.signal(signal.SIGINT)
    os.kill(d.proc.pid, signal.SIGINT)
    assert w.request("/hello").body == b"hello world"
    assert d.zygote_exit(0.2) is None


def test_sigusr2_dumps_all_threads(make_daemon):
    d = make_daemon(threads=2)
    d.start()
    w = d.fork(1)
    w.send_request("/sleep", query="1", slot=0)
    assert "sleeping-now" in d.wait_stderr("sleeping-now")
    w.signal(signal.SIGUSR2)
    err = d.wait_stderr("in sleep")
    assert err.count("Thread 0x") >= 3, err  # main + 2 slot threads (+ death watcher)
    assert "hearth_worker/worker.py" in err
    assert "testapp.py" in err and "in sleep" in err
    assert w.read_response(slot=0).body == b"slept"
    assert w.request("/hello", slot=1).body == b"hello world"  # still serving
