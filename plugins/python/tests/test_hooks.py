"""Server hooks (--hook-pre-fork, --hook-post-fork, --hook-worker-exit) through the fake daemon.

The hooks live in apps/hookapp.py; each call appends a JSON line to a log file, so the
tests see in which process (pid), with which worker id, and in which order they ran.
"""

import json
import signal
import time

import pytest

import fakedaemon
from fakedaemon import P

HOOKS = {"pre_fork": "hookapp:pre_fork", "post_fork": "hookapp:post_fork",
         "worker_exit": "hookapp:worker_exit"}


def hook_args(**hooks):
    args = []
    for name, spec in hooks.items():
        args += ["--hook-" + name.replace("_", "-"), spec]
    return args


@pytest.fixture
def hook_log(tmp_path):
    return tmp_path / "hooks.jsonl"


@pytest.fixture
def make_hooked(make_daemon, hook_log):
    def make(app="hookapp:application", **kw):
        hooks = kw.pop("hooks", HOOKS)
        env = dict(kw.pop("env", {}))
        env["HEARTH_TEST_HOOK_LOG"] = str(hook_log)
        return make_daemon(app=app, extra_args=hook_args(**hooks), env=env, **kw)
    return make


def events(log, event=None):
    try:
        lines = log.read_text().splitlines()
    except FileNotFoundError:
        return []
    out = [json.loads(line) for line in lines if line.strip()]
    return [e for e in out if event is None or e["event"] == event]


def wait_event(log, event, count=1, timeout=3.0):
    deadline = time.monotonic() + timeout
    while True:
        got = events(log, event)
        if len(got) >= count or time.monotonic() >= deadline:
            return got
        time.sleep(0.01)


# -- the happy path -----------------------------------------------------------------------


def test_hooks_run_in_the_right_process_with_the_worker_id(make_hooked, hook_log):
    d = make_hooked()
    d.start()
    zpid = d.proc.pid
    # Preloading: the hooks' module is imported in the zygote, after the app.
    (imp,) = events(hook_log, "import")
    assert imp["pid"] == zpid
    w = d.fork(7)
    (pre,) = events(hook_log, "pre_fork")
    assert pre == {"event": "pre_fork", "worker_id": 7, "pid": zpid, "app_imported": False}
    (post,) = events(hook_log, "post_fork")
    assert post["pid"] == w.pid and post["worker_id"] == 7 and post["type"] == "int"
    # What post_fork set up is what the app sees in that worker.
    got = w.request("/").json()
    assert got == {"pid": w.pid, "connection": {"opened_by": w.pid, "worker_id": 7}}
    assert events(hook_log, "worker_exit") == []
    w.signal(signal.SIGTERM)
    assert w.wait_exit(3) == 0
    (exit_,) = events(hook_log, "worker_exit")
    assert exit_["pid"] == w.pid and exit_["worker_id"] == 7 and exit_["connection_owner"] == w.pid


def test_pre_fork_runs_before_each_fork(make_hooked, hook_log):
    d = make_hooked(hooks={"pre_fork": HOOKS["pre_fork"]})
    d.start()
    workers = [d.fork(i) for i in (1, 2, 3)]
    pre = events(hook_log, "pre_fork")
    assert [e["worker_id"] for e in pre] == [1, 2, 3]
    assert {e["pid"] for e in pre} == {d.proc.pid}
    assert all(w.request("/").json()["connection"]["opened_by"] is None for w in workers)


def test_lazy_mode_post_fork_runs_before_the_app_import(make_hooked, hook_log):
    d = make_hooked(app="testapp:application", preload=False)
    d.start()
    (imp,) = events(hook_log, "import")
    assert imp["pid"] == d.proc.pid and imp["app_imported"] is False  # imported in the zygote anyway
    w = d.fork(1)
    (post,) = events(hook_log, "post_fork")
    assert post["pid"] == w.pid and post["app_imported"] is False
    assert w.request("/hello").body == b"hello world"


def test_preload_post_fork_sees_the_preloaded_app(make_hooked, hook_log):
    d = make_hooked(app="testapp:application")
    d.start()
    assert events(hook_log, "import")[0]["app_imported"] is True  # hooks after the app
    w = d.fork(1)
    assert events(hook_log, "post_fork")[0]["app_imported"] is True
    assert w.request("/hello").body == b"hello world"


def test_dotted_hook_attribute(make_hooked):
    d = make_hooked(hooks={"post_fork": "hookapp:NAMESPACE.post_fork"})
    d.start()
    w = d.fork(4)
    assert w.request("/").json()["connection"]["worker_id"] == 4


# -- post_fork failing --------------------------------------------------------------------


@pytest.mark.parametrize("preload", [True, False])
def test_failing_post_fork_is_worker_failed_exit_3(make_hooked, hook_log, preload):
    d = make_hooked(hooks={"post_fork": "hookapp:failing_post_fork",
                           "worker_exit": "hookapp:worker_exit"}, preload=preload)
    d.start()
    w = d.fork(5, expect_ready=False)
    f = fakedaemon.read_frame(w.slots[0], 10)
    assert f.type == P.WORKER_FAILED
    text = f.payload.decode()
    assert "post_fork hook 'hookapp:failing_post_fork' failed" in text
    assert "Traceback" in text and "hookapp.py" in text
    assert "cannot reach the database from worker 5 (on purpose)" in text
    assert w.wait_exit(5) == 3
    assert events(hook_log, "worker_exit") == []  # not a graceful exit
    # The zygote is fine and keeps forking (the failure is the worker's).
    assert d.zygote_exit(0.1) is None
    assert isinstance(d.fork(6, expect_ready=False), fakedaemon.Worker)


# -- pre_fork failing ---------------------------------------------------------------------


def test_failing_pre_fork_is_fork_failed_and_the_zygote_keeps_going(make_hooked, hook_log):
    d = make_hooked(hooks={"pre_fork": "hookapp:failing_pre_fork"})
    d.start()
    w1 = d.fork(1)
    f = d.fork(2)
    assert f.type == P.FORK_FAILED
    info = f.json()
    assert info["worker_id"] == 2
    assert "pre_fork hook 'hookapp:failing_pre_fork' failed" in info["error"]
    assert "refuses worker 2" in info["error"]
    assert "Traceback" in d.wait_stderr("Traceback")
    w3 = d.fork(3)
    assert w1.request("/").status == "200 OK" and w3.request("/").status == "200 OK"
    assert [e["worker_id"] for e in events(hook_log, "pre_fork")] == [1, 2, 3]


# -- worker_exit --------------------------------------------------------------------------


def test_worker_exit_waits_for_the_request_in_flight(make_hooked, hook_log):
    d = make_hooked(threads=2)
    d.start()
    w = d.fork(1)
    w.send_request("/sleep", query="0.5", slot=1)
    assert wait_event(hook_log, "sleeping")
    w.signal(signal.SIGTERM)
    assert w.wait_exit(0.1) is None
    assert events(hook_log, "worker_exit") == []  # not while a request runs
    assert w.read_response(slot=1, timeout=5).json()["pid"] == w.pid
    assert w.wait_exit(3) == 0
    (exit_,) = events(hook_log, "worker_exit")
    assert exit_["pid"] == w.pid


def test_worker_exit_runs_once_on_repeated_sigterm(make_hooked, hook_log):
    d = make_hooked()
    d.start()
    w = d.fork(1)
    w.send_request("/sleep", query="0.3")
    assert wait_event(hook_log, "sleeping")
    for _ in range(3):
        w.signal(signal.SIGTERM)
    assert w.read_response(timeout=5).status == "200 OK"
    assert w.wait_exit(3) == 0
    assert len(events(hook_log, "worker_exit")) == 1


def test_failing_worker_exit_is_logged_and_the_exit_is_still_clean(make_hooked, hook_log):
    d = make_hooked(hooks={"worker_exit": "hookapp:failing_worker_exit"})
    d.start()
    w = d.fork(3)
    w.signal(signal.SIGTERM)
    assert w.wait_exit(3) == 0
    err = d.wait_stderr("worker_exit failed (on purpose)")
    assert "[worker 3] worker_exit hook 'hookapp:failing_worker_exit' failed" in err
    assert "worker_exit failed (on purpose)" in err


@pytest.mark.parametrize("how", ["death_pipe", "slot_eof"])
def test_worker_exit_does_not_run_when_the_daemon_is_gone(make_hooked, hook_log, how):
    d = make_hooked()
    d.start()
    w = d.fork(1)
    if how == "death_pipe":
        d.close_death_pipe()
    else:
        w.slots[0].close()
    assert w.wait_exit(3) == 0
    assert events(hook_log, "worker_exit") == []


# -- hooks that cannot be loaded ----------------------------------------------------------


@pytest.mark.parametrize("preload", [True, False])
@pytest.mark.parametrize("flag, spec, needle", [
    ("--hook-post-fork", "hook_import_error:post_fork", "cannot be imported (on purpose)"),
    ("--hook-pre-fork", "no_such_hooks_module:pre_fork", "No module named 'no_such_hooks_module'"),
    ("--hook-worker-exit", "hookapp:no_such_function", "has no attribute 'no_such_function'"),
    ("--hook-post-fork", "hookapp:NOT_CALLABLE", "is int, not a callable"),
    ("--hook-post-fork", "hookapp", "has no ':'"),
    ("--hook-post-fork", "hookapp:post_fork()", "no call parentheses"),
])
def test_hook_load_failure_is_zygote_failed_exit_3(make_daemon, preload, flag, spec, needle):
    d = make_daemon(app="hookapp:application", preload=preload, extra_args=[flag, spec])
    f = d.start(expect_ready=False)
    assert f.type == P.ZYGOTE_FAILED, f
    text = f.payload.decode()
    name = flag[len("--hook-"):].replace("-", "_")
    assert text.startswith("failed to load the %s hook %r (%s)" % (name, spec, flag)), text
    assert needle in text and "Traceback" in text
    assert d.zygote_exit(5) == 3
