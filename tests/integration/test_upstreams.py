"""[[upstreams]] (issue 19, docs/several-apps.md "Upstreams"): any HTTP/1.1 server behind
hearthd, next to a Python app. A `command` upstream (tests/integration/apps/upstream_server.py,
started by hearthd with $PORT) under a prefix with strip_prefix, a `servers` upstream (the same
server started by the test, stopped by its PID), 502 when every server is down, a killed
command process restarted, `hearthctl reload NAME` under a bounded load loop with zero failed
requests, and a reload whose new process never gets ready (exit 1, the old one keeps serving).
The app next to them answers throughout."""
import json
import os
import signal
import socket
import subprocess
import threading

import hhttp
from conftest import APPS, PYTHON, http_status, pid_exited, poll
from lifecycle_util import ctl, socket_path

SERVER = f"{PYTHON} {APPS / 'upstream_server.py'}"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(tmp_path, tag="ext"):
    """The test's own upstream server on a free port; returns (proc, port)."""
    port = free_port()
    log = open(tmp_path / f"server-{port}.log", "wb")
    proc = subprocess.Popen([PYTHON, str(APPS / "upstream_server.py"), str(port)], stdin=subprocess.DEVNULL,
                            stdout=log, stderr=log, env={**os.environ, "UPSTREAM_TAG": tag})
    log.close()
    poll(lambda: http_status(f"http://127.0.0.1:{port}/healthz") == 200, 10, what="the test's upstream server")
    return proc, port


def stop_server(proc):
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


CONFIG = """
control_socket = "{sock}"

[[apps]]
name = "site"
app = "mount_echo:app"
env = {{ APP_TAG = "site" }}

[[upstreams]]
name = "node"
prefix = "/socket"
strip_prefix = true
command = "{server}"
env = {{ UPSTREAM_TAG = "node", NEVER_READY_FILE = "{flag}" }}
boot_timeout = "3s"
graceful_timeout = "5s"
[upstreams.health]
path = "/healthz"
{extra}
"""


def start(hearthd, tmp_path, extra=""):
    sock = socket_path(tmp_path)
    flag = tmp_path / "never-ready"
    toml = CONFIG.format(sock=sock, server=SERVER, flag=flag, extra=extra)
    srv = hearthd(None, workers=1, toml=toml, ready_workers=1)
    return srv, sock, flag


def get(srv, path, host="127.0.0.1", **kw):
    return hhttp.get(srv.port, path, headers=[("Host", host)], **kw)


def status(sock, name):
    r = ctl(sock, "status", name, "--json")
    assert r.returncode == 0, r
    return json.loads(r.stdout)


def test_command_and_servers_upstreams_next_to_an_app(hearthd, tmp_path):
    proc, port = start_server(tmp_path)
    try:
        extra = f"""
[[upstreams]]
name = "ext"
prefix = "/ext"
servers = ["127.0.0.1:{port}"]
[upstreams.health]
path = "/healthz"
interval = "1s"

[[upstreams]]
name = "impatient"
prefix = "/impatient"
strip_prefix = true
servers = ["127.0.0.1:{port}"]
timeout = "1s"
"""
        srv, sock, _ = start(hearthd, tmp_path, extra)

        # The command upstream, with its prefix stripped.
        r = get(srv, "/socket/x/y?q=1", host="example.test")
        assert r.status == 200, r
        doc = r.json()
        assert doc["tag"] == "node" and doc["path"] == "/x/y?q=1", doc
        h = doc["headers"]
        assert h["host"] == "example.test" and h["x-forwarded-host"] == "example.test", h
        assert h["x-forwarded-for"] == "127.0.0.1" and h["x-forwarded-proto"] == "http", h
        assert "connection" not in h or h["connection"].lower() != "close", h
        assert r.header("X-Request-ID"), r
        assert get(srv, "/socket").json()["path"] == "/"

        # The servers upstream keeps its whole path.
        e = get(srv, "/ext/a?b")
        assert e.json()["tag"] == "ext" and e.json()["path"] == "/ext/a?b", e

        # A chunked response and a request body pass through.
        c = get(srv, "/socket/chunked")
        assert c.status == 200 and c.body == b"one two three", c
        k = get(srv, "/socket/close")
        assert k.status == 200 and k.body == b"until the end", k
        assert r.header("X-Request-ID") and get(srv, "/socket/").json()["headers"].get("x-request-id"), r
        p = hhttp.fetch(srv.port, "POST", "/socket/post", body=b"x" * 100000)
        assert p.status == 200 and p.json()["body_length"] == 100000, p

        # No response head within the upstream's timeout: 504.
        t = get(srv, "/impatient/slow?ms=3000")
        assert t.status == 504, t
        assert get(srv, "/impatient/fast").status == 200

        # The app keeps the rest.
        assert get(srv, "/other").json()["tag"] == "site"

        # hearthctl status, /readyz?app=, the app label in /metrics.
        node = status(sock, "node")
        assert node["kind"] == "upstream" and node["type"] == "command" and node["ready"], node
        assert node["pid"] > 0 and node["port"] > 0, node
        ext = status(sock, "ext")
        assert ext["servers"][0]["address"] == f"127.0.0.1:{port}" and ext["servers"][0]["healthy"], ext
        every = json.loads(ctl(sock, "status", "--json").stdout)
        assert [u["name"] for u in every["upstreams"]] == ["node", "ext", "impatient"], every
        text = ctl(sock, "status").stdout
        assert "[node]  upstream" in text and "[ext]  upstream" in text, text
        assert http_status(srv.admin_url + "/readyz?app=node") == 200
        metrics = hhttp.get(int(srv.admin_url.rsplit(":", 1)[1]), "/metrics").body.decode()
        assert 'hearth_requests_total{app="node",method="GET",status="2xx"}' in metrics, metrics[:2000]
        # The access log... and the command's output in hearthd's log, with its name.
        assert "[node] upstream_server: listening" in srv.log(), srv.log_tail()
    finally:
        stop_server(proc)


def test_every_server_down_is_502_and_the_app_serves(hearthd, tmp_path):
    dead = free_port()
    extra = f"""
[[upstreams]]
name = "gone"
prefix = "/gone"
servers = ["127.0.0.1:{dead}", "127.0.0.1:{free_port()}"]
"""
    # Without a health path the check is a connect, which fails: /readyz says so.
    srv, sock, _ = start(hearthd, tmp_path, extra)
    for _ in range(3):
        r = get(srv, "/gone/x")
        assert r.status == 502, r
    assert get(srv, "/").json()["tag"] == "site"
    gone = status(sock, "gone")
    assert all(s["failures"] >= 1 for s in gone["servers"]), gone


def test_a_killed_command_upstream_is_restarted(hearthd, tmp_path):
    srv, sock, _ = start(hearthd, tmp_path)
    first = get(srv, "/socket/").json()["pid"]  # the server (under hearthd's /bin/sh: status shows the shell)
    shell = status(sock, "node")["pid"]
    os.kill(first, signal.SIGKILL)

    def back():
        r = get(srv, "/socket/")
        return r.status == 200 and r.json()["pid"] != first and r.json()["pid"]

    second = poll(back, 20, interval=0.1, what="the upstream restarted")
    assert pid_exited(first) and pid_exited(shell)
    after = status(sock, "node")
    assert after["restarts"] >= 1 and after["pid"] != shell, after
    assert "restarting in" in srv.log(), srv.log_tail()
    assert get(srv, "/").json()["tag"] == "site"
    assert second


def _load(srv, stop, results, limit=3000):
    """Requests to the upstream and to the app on kept-alive connections until `stop` (bounded)."""
    for i in range(limit):
        if stop.is_set():
            return
        path = "/socket/slow?ms=10" if i % 2 == 0 else "/app"
        try:
            r = get(srv, path, timeout=10)
            results.append((path, r.status, r.json().get("pid") if r.status == 200 else None))
        except Exception as e:  # noqa: BLE001 - a failure is what the test counts
            results.append((path, repr(e), None))


def _reload_under_load(srv, sock, reload_args, threads, before, after, timeout=30.0):
    """`hearthctl reload *reload_args` while `threads` _load() loops run: `before` requests
    first, `after` more once it answered. Returns (the hearthctl result, the results)."""
    stop, results = threading.Event(), []
    workers = [threading.Thread(target=_load, args=(srv, stop, results)) for _ in range(threads)]
    for t in workers:
        t.start()
    try:
        poll(lambda: len(results) >= before, 20, what="load before the reload")
        r = ctl(sock, "reload", *reload_args, timeout=timeout)
        n = len(results)
        poll(lambda: len(results) >= n + after, 20, what="load after the reload")
    finally:
        stop.set()
        for t in workers:
            t.join(timeout=30)
    return r, results


def test_reload_under_load_drops_nothing(hearthd, tmp_path):
    srv, sock, _ = start(hearthd, tmp_path)
    old = get(srv, "/socket/").json()["pid"]
    old_shell = status(sock, "node")["pid"]
    r, results = _reload_under_load(srv, sock, ["node"], threads=3, before=20, after=40)
    assert r.returncode == 0, (r.stdout, r.stderr, srv.log_tail())
    failed = [x for x in results if x[1] != 200]
    assert not failed, (failed[:5], srv.log_tail())
    new = get(srv, "/socket/").json()["pid"]
    assert new != old and status(sock, "node")["pid"] != old_shell
    assert any(p == new for path, _, p in results if path.startswith("/socket")), "no request reached the new one"
    poll(lambda: pid_exited(old) and pid_exited(old_shell), 10, what="the old process stopped after draining")


def test_a_reload_whose_new_process_never_gets_ready_keeps_the_old(hearthd, tmp_path):
    srv, sock, flag = start(hearthd, tmp_path)
    old = status(sock, "node")["pid"]
    served_by = get(srv, "/socket/").json()["pid"]
    flag.write_text("the next process answers /healthz with 503")
    r = ctl(sock, "reload", "node")
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "old one keeps serving" in (r.stdout + r.stderr), (r.stdout, r.stderr)
    assert get(srv, "/socket/").json()["pid"] == served_by
    assert status(sock, "node")["pid"] == old
    assert get(srv, "/").json()["tag"] == "site"
    # The new process was stopped (it is not left running).
    assert len(status(sock, "node").get("servers", [])) == 1


def test_shutdown_lets_an_upstream_request_finish_then_stops_the_process(hearthd, tmp_path):
    srv, sock, _ = start(hearthd, tmp_path)
    server_pid = get(srv, "/socket/").json()["pid"]
    shell = status(sock, "node")["pid"]
    got = []
    t = threading.Thread(target=lambda: got.append(get(srv, "/socket/slow?ms=1500", timeout=20)))
    t.start()
    poll(lambda: status(sock, "node").get("in_flight") == 1, 10, what="the slow request in flight")
    srv.send_signal(signal.SIGTERM)
    t.join(timeout=30)
    assert got and got[0].status == 200, got
    assert srv.wait_exit() == 0, srv.log_tail()
    assert pid_exited(server_pid) and pid_exited(shell)


def test_the_command_dies_with_hearthd(hearthd, tmp_path):
    srv, sock, _ = start(hearthd, tmp_path)
    server_pid = get(srv, "/socket/").json()["pid"]
    srv.send_signal(signal.SIGKILL)
    srv.wait_exit()
    # SIGTERM from the parent-death signal, passed by the shell to the server's group.
    poll(lambda: pid_exited(server_pid), 10, what="the upstream server gone after hearthd was killed")


ONLY = """
control_socket = "{sock}"

[[upstreams]]
name = "node"
command = "{server}"
env = {{ UPSTREAM_TAG = "only" }}
[upstreams.health]
path = "/healthz"
"""


def test_a_config_with_only_upstreams_starts_no_python_app(hearthd, tmp_path):
    sock = socket_path(tmp_path)
    srv = hearthd(None, workers=1, toml=ONLY.format(sock=sock, server=SERVER))
    r = get(srv, "/anything?x=1")
    assert r.status == 200 and r.json()["tag"] == "only" and r.json()["path"] == "/anything?x=1", r
    assert "zygote" not in srv.log(), srv.log_tail()
    every = json.loads(ctl(sock, "status", "--json").stdout)
    assert every["apps"] == [] and every["upstreams"][0]["name"] == "node", every
    assert ctl(sock, "reload", "node").returncode == 0
    assert get(srv, "/").status == 200
    assert srv.stop() == 0, srv.log_tail()


def test_server_sent_events_stream_through(hearthd, tmp_path):
    """A text/event-stream response reaches the client as the upstream writes it: the first
    event arrives while the upstream still waits (for a file the test creates) to send the second."""
    srv, _, _ = start(hearthd, tmp_path)
    flag = tmp_path / "second-event"
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as c:
        c.sendall(f"GET /socket/sse?flag={flag} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        got = b""
        while b"data: one" not in got:
            chunk = c.recv(65536)
            assert chunk, got
            got += chunk
        assert b"200" in got.split(b"\r\n", 1)[0] and b"data: two" not in got, got
        flag.write_text("go")
        while not got.endswith(b"0\r\n\r\n"):
            chunk = c.recv(65536)
            assert chunk, got
            got += chunk
        assert b"data: two" in got, got


SOCKET_ONLY = """
control_socket = "{sock}"

[[upstreams]]
name = "unixy"
command = "{server}"
socket = true
env = {{ UPSTREAM_TAG = "unixy" }}
[upstreams.health]
path = "/healthz"
"""


def test_a_command_upstream_on_a_unix_socket(hearthd, tmp_path):
    sock = socket_path(tmp_path)
    srv = hearthd(None, workers=1, toml=SOCKET_ONLY.format(sock=sock, server=SERVER))
    r = get(srv, "/x")
    assert r.status == 200 and r.json()["tag"] == "unixy", r
    st = status(sock, "unixy")
    assert st["socket"].endswith(".sock") and "port" not in st, st
    assert os.path.exists(st["socket"])
    assert srv.stop() == 0
    assert not os.path.exists(st["socket"]), "the socket file is removed with the process"


def test_a_refused_server_is_skipped_and_ejected(hearthd, tmp_path):
    proc, port = start_server(tmp_path, tag="alive")
    try:
        dead = free_port()
        extra = f"""
[[upstreams]]
name = "pair"
prefix = "/pair"
servers = ["127.0.0.1:{dead}", "127.0.0.1:{port}"]
"""
        srv, sock, _ = start(hearthd, tmp_path, extra)
        for _ in range(6):  # round robin would give the dead one every other request
            r = get(srv, "/pair/x")
            assert r.status == 200 and r.json()["tag"] == "alive", r
        hhttp_post = hhttp.fetch(srv.port, "POST", "/pair/y", body=b"abc")
        assert hhttp_post.status == 200, hhttp_post  # a refused connect is retried for any method
        pair = status(sock, "pair")
        dead_s = next(s for s in pair["servers"] if s["address"].endswith(f":{dead}"))
        assert dead_s["failures"] >= 1 and dead_s["ejected"] and not dead_s["healthy"], pair
    finally:
        stop_server(proc)


def test_reloading_the_file_adds_removes_and_replaces_upstreams(hearthd, tmp_path):
    """`hearthctl reload` reads the file again for [[upstreams]] too: a new one is routed, a
    removed one leaves its route, a changed command upstream is replaced blue/green (no request
    to it fails), the app keeps serving; a new command upstream that never gets ready changes
    nothing."""
    proc, port = start_server(tmp_path)
    try:
        ext = f'\n[[upstreams]]\nname = "ext"\nprefix = "/ext"\nservers = ["127.0.0.1:{port}"]\n'
        srv, sock, flag = start(hearthd, tmp_path, ext)
        cfg = tmp_path / "hearthd1.toml"
        assert cfg.exists()
        old_server = get(srv, "/socket/").json()["pid"]
        old_shell = status(sock, "node")["pid"]
        assert get(srv, "/ext/a").json()["tag"] == "ext"

        ext2 = f'\n[[upstreams]]\nname = "ext2"\nprefix = "/ext2"\nservers = ["127.0.0.1:{port}"]\n'
        text = CONFIG.format(sock=sock, server=SERVER, flag=flag, extra=ext2)
        cfg.write_text(text.replace('UPSTREAM_TAG = "node"', 'UPSTREAM_TAG = "node2"'))
        r, results = _reload_under_load(srv, sock, [], threads=2, before=10, after=20, timeout=60)
        assert r.returncode == 0, (r.stdout, r.stderr, srv.log_tail(40))
        out = r.stdout + r.stderr
        for word in ("upstreams: added ext2", "replaced node", "removed ext"):
            assert word in out, out
        failed = [x for x in results if x[1] != 200]
        assert not failed, (failed[:5], srv.log_tail(40))

        assert get(srv, "/socket/").json()["tag"] == "node2"
        assert get(srv, "/ext2/b").json()["tag"] == "ext"
        assert get(srv, "/ext/a").json()["tag"] == "site"  # no upstream's prefix now: the app's
        every = json.loads(ctl(sock, "status", "--json").stdout)
        assert [u["name"] for u in every["upstreams"]] == ["node", "ext2"], every
        poll(lambda: pid_exited(old_server) and pid_exited(old_shell), 15,
             what="the replaced command upstream's process to stop")

        # A new command upstream that never gets ready: nothing changes.
        late = ('\n[[upstreams]]\nname = "late"\nprefix = "/late"\n'
                f'command = "{SERVER}"\nenv = {{ NEVER_READY = "1" }}\nboot_timeout = "2s"\n'
                '[upstreams.health]\npath = "/healthz"\n')
        cfg.write_text(cfg.read_text() + late)
        r = ctl(sock, "reload", timeout=60)
        assert r.returncode == 1 and "nothing changed" in (r.stdout + r.stderr), (r.stdout, r.stderr)
        every = json.loads(ctl(sock, "status", "--json").stdout)
        assert [u["name"] for u in every["upstreams"]] == ["node", "ext2"], every
        assert get(srv, "/late/x").json()["tag"] == "site"
        assert get(srv, "/socket/").json()["tag"] == "node2"
    finally:
        stop_server(proc)
