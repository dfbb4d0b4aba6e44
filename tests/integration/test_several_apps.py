"""Several apps behind one hearthd ([[apps]], issue 19, docs/several-apps.md): routing by
Host and path prefix, SCRIPT_NAME/PATH_INFO (raw WSGI and Flask), 421/404 for misses,
hearthctl status/reload/scale NAME, /readyz?app=, the app label in /metrics, and
isolation: one app's crashing workers or failed import never fail another's requests; the
issue's scenario: three apps and a `python3 -m http.server` command upstream, killed and
reloaded under load."""
import json
import re

import hhttp
from conftest import APPS, http_status, poll
from lifecycle_util import ctl, socket_path

THREE = """
control_socket = "{sock}"

[[apps]]
name = "api"
app = "mount_echo:app"
hosts = ["api.example.test", "*.api.example.test"]
env = {{ APP_TAG = "api" }}
queue_timeout = "3s"   # bounds a request that meets api's crash-loop backoff (test_one_apps_crashes...)

[[apps]]
name = "blog"
app = "mount_flask:app"
prefix = "/blog"
env = {{ APP_TAG = "blog" }}

[[apps]]
name = "site"
app = "mount_echo:app"
env = {{ APP_TAG = "site" }}
"""


def _start_three(hearthd, tmp_path):
    sock = socket_path(tmp_path)
    srv = hearthd(None, workers=1, toml=THREE.format(sock=sock), ready_workers=3)
    return srv, sock


def _get(srv, path, host="127.0.0.1"):
    return hhttp.get(srv.port, path, headers=[("Host", host)])


def test_routing_and_mount_points(hearthd, tmp_path):
    srv, _ = _start_three(hearthd, tmp_path)

    r = _get(srv, "/x/y?q=1", host="api.example.test")
    assert r.status == 200, r
    assert r.json() == {**r.json(), "tag": "api", "script_name": "", "path_info": "/x/y"}
    # A wildcard host, with a port and any case.
    assert _get(srv, "/", host="V1.API.example.test:8080").json()["tag"] == "api"
    # api has no prefix limit: its host wins over the /blog prefix of the default group.
    assert _get(srv, "/blog/", host="api.example.test").json()["tag"] == "api"

    # The blog is mounted under /blog: Flask sees the mount as its script_root.
    b = _get(srv, "/blog/")
    assert b.status == 200, b
    assert b.json() == {"tag": "blog", "script_root": "/blog", "path": "/", "link": "/blog/hello/x"}
    h = _get(srv, "/blog/hello/w%C3%BC")
    assert h.json()["path"] == "/hello/wü" and h.json()["script_root"] == "/blog", h.json()
    # /blog itself is the blog's (Flask redirects it to the mount's root, under the mount),
    # and so is a percent-encoded prefix.
    r = _get(srv, "/blog")
    assert r.status in (301, 308) and r.header("Location").endswith("/blog/"), r
    assert _get(srv, "/%62log/").json()["tag"] == "blog"

    # /blogger is not under /blog: the default app, with the whole path.
    s = _get(srv, "/blogger")
    assert s.json()["tag"] == "site" and s.json()["script_name"] == "" and s.json()["path_info"] == "/blogger"
    # An unknown host goes to the default group.
    assert _get(srv, "/", host="other.test").json()["tag"] == "site"

    # The zygote and worker lines carry the app's name.
    log = srv.log()
    for name in ("api", "blog", "site"):
        assert re.search(rf"\[{name} zygote\] zygote ready pid=\d+", log), log
        assert re.search(rf"\[{name} worker \d+\] worker \d+ ready pid=\d+", log), log


def test_raw_wsgi_under_a_prefix_sees_script_name_and_path_info(hearthd, tmp_path):
    sock = socket_path(tmp_path)
    toml = f"""
control_socket = "{sock}"
[[apps]]
name = "raw"
app = "mount_echo:app"
prefix = "/raw/"
env = {{ APP_TAG = "raw" }}
"""
    srv = hearthd(None, workers=1, toml=toml, ready_workers=1)
    r = _get(srv, "/raw/a%20b/c?x=1").json()
    assert (r["tag"], r["script_name"], r["path_info"]) == ("raw", "/raw", "/a b/c")
    r = _get(srv, "/raw").json()
    assert (r["script_name"], r["path_info"]) == ("/raw", "")
    # No default app: a path outside every prefix is 404, an unknown Host too.
    assert _get(srv, "/other").status == 404


def test_asgi_app_under_a_prefix_gets_root_path(hearthd, tmp_path):
    toml = """
[[apps]]
name = "live"
app = "mount_echo:asgi_app"
interface = "asgi"
lifespan = "off"
prefix = "/live"
env = { APP_TAG = "live" }
"""
    srv = hearthd(None, workers=1, toml=toml, ready_workers=1)
    r = _get(srv, "/live/feed%20x?y=1")
    assert r.status == 200, r
    assert r.json() == {"tag": "live", "root_path": "/live", "path": "/live/feed x", "raw_path": "/live/feed%20x"}


def test_static_mounts_are_served_before_routing(hearthd, tmp_path):
    static = tmp_path / "assets"
    static.mkdir()
    (static / "a.txt").write_text("static-a\n")
    toml = f"""
[[static]]
prefix = "/assets/"
dir = "{static}"

[[apps]]
name = "api"
app = "mount_echo:app"
hosts = ["api.test"]
env = {{ APP_TAG = "api" }}
"""
    srv = hearthd(None, workers=1, toml=toml, ready_workers=1)
    # No default app, but the mount answers for every host; the rest is routed.
    for host in ("api.test", "other.test"):
        r = _get(srv, "/assets/a.txt", host=host)
        assert r.status == 200 and r.body == b"static-a\n", r
    assert _get(srv, "/x", host="api.test").json()["tag"] == "api"
    assert _get(srv, "/x", host="other.test").status == 421


def test_misses_are_421_and_404(hearthd, tmp_path):
    toml = """
[[apps]]
name = "a"
app = "mount_echo:app"
hosts = ["a.test"]
prefix = "/x"
env = { APP_TAG = "a" }

[[apps]]
name = "b"
app = "mount_echo:app"
hosts = ["b.test"]
env = { APP_TAG = "b" }
"""
    srv = hearthd(None, workers=1, toml=toml, ready_workers=2)
    assert _get(srv, "/x/1", host="a.test").json()["tag"] == "a"
    assert _get(srv, "/anything", host="b.test").json()["tag"] == "b"
    r = _get(srv, "/", host="c.test")
    assert r.status == 421, r
    r = _get(srv, "/y", host="a.test")
    assert r.status == 404, r
    # HTTP/1.0 without a Host: no default app, 404.
    with hhttp.Conn(srv.port) as c:
        c.send(hhttp.request("GET", "/", version="HTTP/1.0", host=None))
        assert c.read_response().status == 404
    # hearthd's own answers are counted and logged like every other response.
    from hw_helpers import metric, scrape
    poll(lambda: (metric(scrape(srv), "hearth_requests_total", method="GET", status="4xx") or 0) >= 3, 10,
         what="the 421/404s in hearth_requests_total")
    poll(lambda: '"GET / HTTP/1.1" 421 ' in srv.stdout(), 10, what="the 421 in the access log")


def test_hearthctl_status_reload_scale_by_name(hearthd, tmp_path):
    srv, sock = _start_three(hearthd, tmp_path)

    r = ctl(sock, "--json", "status")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [a["name"] for a in doc["apps"]] == ["api", "blog", "site"]
    assert all(a["state"] == "running" for a in doc["apps"]), doc
    r = ctl(sock, "--json", "status", "blog")
    one = json.loads(r.stdout)
    assert one["name"] == "blog" and one["app"] == "mount_flask:app", one
    table = ctl(sock, "status")
    assert table.returncode == 0 and "[api]" in table.stdout and "[site]" in table.stdout, table.stdout
    bad = ctl(sock, "status", "nope")
    assert bad.returncode == 1 and "no app named 'nope'" in bad.stderr and "api, blog, site" in bad.stderr, bad

    gen_before = {a["name"]: a["generation"] for a in doc["apps"]}
    # Reload blog while the other apps take traffic: none of their requests fails.
    import threading
    done = threading.Event()
    results = []

    def load():
        for i in range(2000):  # bounded; stops as soon as the reload answered
            if done.is_set() and i >= 20:
                return
            host = "api.example.test" if i % 2 else "127.0.0.1"
            r = _get(srv, "/x", host=host)
            results.append((r.status, r.json()["tag"] if r.status == 200 else None, host))

    t = threading.Thread(target=load)
    t.start()
    try:
        r = ctl(sock, "reload", "blog")
    finally:
        done.set()
        t.join(60)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert len(results) >= 20
    bad = [x for x in results if x[0] != 200 or x[1] != ("api" if x[2] == "api.example.test" else "site")]
    assert bad == [], bad[:5]
    after = {a["name"]: a["generation"] for a in json.loads(ctl(sock, "--json", "status").stdout)["apps"]}
    assert after == {**gen_before, "blog": gen_before["blog"] + 1}, (gen_before, after)
    assert _get(srv, "/blog/").json()["tag"] == "blog"

    s = ctl(sock, "scale", "2")
    assert s.returncode == 1 and "several apps" in s.stderr and "api, blog, site" in s.stderr, s
    s = ctl(sock, "scale", "site", "2")
    assert s.returncode == 0, (s.stdout, s.stderr)
    poll(lambda: json.loads(ctl(sock, "--json", "status", "site").stdout)["ready_workers"] == 2, 20,
         what="site scaled to 2")
    assert json.loads(ctl(sock, "--json", "status", "api").stdout)["desired_workers"] == 1


def test_readyz_per_app_and_metrics_labels(hearthd, tmp_path):
    srv, _ = _start_three(hearthd, tmp_path)
    assert http_status(srv.admin_url + "/readyz") == 200
    assert http_status(srv.admin_url + "/readyz?app=blog") == 200
    assert http_status(srv.admin_url + "/readyz?app=nope") == 404
    _get(srv, "/blog/")
    import urllib.request

    def scraped():  # the request is counted once its response is done, which may trail the client's read
        t = urllib.request.urlopen(srv.admin_url + "/metrics", timeout=5).read().decode()
        return t if re.search(r'^hearth_requests_total\{app="blog",method="GET",status="2xx"\} [1-9]', t, re.M) else None

    text = poll(scraped, 10, what='hearth_requests_total{app="blog"}')
    assert not re.search(r'^hearth_requests_total\{app="(api|site)",method="GET",status="2xx"\}', text, re.M), text
    for name in ("api", "blog", "site"):
        assert re.search(rf'^hearth_requests_in_flight\{{app="{name}"\}} 0$', text, re.M), text
        assert re.search(rf'^hearth_workers\{{app="{name}",state="ready"\}} 1$', text, re.M), text
        assert re.search(rf'^hearth_generation\{{app="{name}"\}} 1$', text, re.M), text


def test_one_apps_crashes_never_fail_another(hearthd, tmp_path):
    srv, _ = _start_three(hearthd, tmp_path)
    failures = []
    for i in range(40):  # bounded: 40 rounds, each one crash of api and a few blog requests
        r = _get(srv, "/crash", host="api.example.test")
        assert r.status in (502, 503, 504), r
        for _ in range(3):
            b = _get(srv, "/blog/")
            if b.status != 200 or b.json()["tag"] != "blog":
                failures.append(b)
    assert failures == []
    # api recovers (its crash loop is its own).
    poll(lambda: _get(srv, "/", host="api.example.test").status == 200, 30, what="api serving again")


def test_an_app_that_fails_to_import_answers_503_while_the_others_serve(hearthd, tmp_path):
    sock = socket_path(tmp_path)
    toml = f"""
control_socket = "{sock}"
[[apps]]
name = "broken"
app = "broken:app"
prefix = "/broken"

[[apps]]
name = "site"
app = "mount_echo:app"
env = {{ APP_TAG = "site" }}
"""
    srv = hearthd(None, workers=1, toml=toml, wait=False)
    srv.wait_log(r"app broken cannot start")
    poll(lambda: http_status(srv.admin_url + "/readyz?app=site") == 200 if srv.admin_url else False, 20,
         what="site ready")
    for _ in range(20):
        assert _get(srv, "/x").json()["tag"] == "site"
        r = _get(srv, "/broken/x")
        assert r.status == 503, r
    assert http_status(srv.admin_url + "/readyz?app=broken") == 503
    assert http_status(srv.admin_url + "/readyz") == 503  # not every app is ready
    st = json.loads(ctl(sock, "--json", "status", "broken").stdout)
    assert st["state"] == "failed", st
    assert srv.proc.poll() is None  # still running


def test_every_app_failing_to_import_exits_3(hearthd, tmp_path):
    toml = """
[[apps]]
name = "one"
app = "broken:app"
prefix = "/one"

[[apps]]
name = "two"
app = "broken:app"
"""
    srv = hearthd(None, workers=1, toml=toml, wait=False)
    assert srv.wait_exit(30) == 3, srv.log_tail()
    assert "no app can start; exiting" in srv.log()


def test_check_config_reports_apps_errors(tmp_path):
    import subprocess
    from conftest import HEARTHD
    cfg = tmp_path / "bad.toml"
    cfg.write_text('app = "a:app"\n[[apps]]\nname = "x"\napp = "x:app"\nwokers = 2\n'
                   '[[apps]]\nname = "x"\napp = "y:app"\n')
    r = subprocess.run([str(HEARTHD), "--check-config", "-c", str(cfg)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert f"{cfg}:1:7: app: cannot be combined with [[apps]]" in r.stderr, r.stderr
    assert f"{cfg}:5:1: unknown key 'wokers' in an [[apps]] block (did you mean 'workers'?)" in r.stderr
    assert "'x' is already the name of apps[0]" in r.stderr


RELOAD_BEFORE = """
control_socket = "{sock}"

[[apps]]
name = "api"
app = "mount_echo:app"
hosts = ["api.example.test"]
env = {{ APP_TAG = "api" }}

[[apps]]
name = "old"
app = "mount_echo:app"
prefix = "/old"
env = {{ APP_TAG = "old" }}

[[apps]]
name = "site"
app = "mount_echo:app"
env = {{ APP_TAG = "site" }}
"""

# api: a new host only (kept: rolling reload); old: removed; site: a changed
# setting (replaced); new: added under /new.
RELOAD_AFTER = """
control_socket = "{sock}"

[[apps]]
name = "api"
app = "mount_echo:app"
hosts = ["api.example.test", "api2.example.test"]
env = {{ APP_TAG = "api" }}

[[apps]]
name = "new"
app = "mount_echo:app"
prefix = "/new"
env = {{ APP_TAG = "new" }}

[[apps]]
name = "site"
app = "mount_echo:app"
env = {{ APP_TAG = "site2" }}
"""


def _pids_alive(pids):
    import os
    alive = []
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                if f.read().split(") ", 1)[1].split()[0] != "Z":
                    alive.append(p)
        except OSError:
            pass
    return alive


def test_reloading_the_file_adds_removes_and_replaces_apps(hearthd, tmp_path):
    import threading
    sock = socket_path(tmp_path)
    srv = hearthd(None, workers=1, toml=RELOAD_BEFORE.format(sock=sock), ready_workers=3)
    cfg = tmp_path / "hearthd1.toml"
    assert cfg.exists()
    doc = json.loads(ctl(sock, "--json", "status").stdout)
    old_pids = [w["pid"] for a in doc["apps"] if a["name"] in ("old", "site") for w in a["workers"]]
    gen_api = [a["generation"] for a in doc["apps"] if a["name"] == "api"][0]
    assert _get(srv, "/old/x").json()["tag"] == "old"

    # An invalid file changes nothing and says why.
    cfg.write_text(RELOAD_AFTER.format(sock=sock).replace('prefix = "/new"', 'prefix = "new"'))
    r = ctl(sock, "reload", timeout=60)
    assert r.returncode == 1 and "configuration error" in (r.stdout + r.stderr), (r.stdout, r.stderr)
    assert "nothing changed" in (r.stdout + r.stderr)
    assert _get(srv, "/old/x").json()["tag"] == "old"

    # The real change, while api takes traffic: none of its requests fails.
    cfg.write_text(RELOAD_AFTER.format(sock=sock))
    done = threading.Event()
    results = []

    def load():
        for i in range(3000):  # bounded; stops soon after the reload answered
            if done.is_set() and i >= 20:
                return
            r = _get(srv, "/x", host="api.example.test")
            results.append((r.status, r.json()["tag"] if r.status == 200 else None))

    t = threading.Thread(target=load)
    t.start()
    try:
        r = ctl(sock, "reload", timeout=90)
    finally:
        done.set()
        t.join(60)
    assert r.returncode == 0, (r.stdout, r.stderr, srv.log_tail(40))
    out = r.stdout + r.stderr
    for word in ("added new", "replaced site", "removed old", "kept api"):
        assert word in out, out
    assert len(results) >= 20 and all(x == (200, "api") for x in results), [x for x in results if x != (200, "api")][:5]

    doc = json.loads(ctl(sock, "--json", "status").stdout)
    assert [a["name"] for a in doc["apps"]] == ["api", "new", "site"], doc
    assert [a["generation"] for a in doc["apps"] if a["name"] == "api"] == [gen_api + 1]
    assert _get(srv, "/new/y").json() == {**_get(srv, "/new/y").json(), "tag": "new", "script_name": "/new"}
    assert _get(srv, "/", host="api2.example.test").json()["tag"] == "api"
    assert _get(srv, "/").json()["tag"] == "site2"
    # /old is no app's prefix now: the default app gets it.
    assert _get(srv, "/old/x").json() == {**_get(srv, "/old/x").json(), "tag": "site2", "path_info": "/old/x"}
    # The removed and replaced apps' workers stop.
    poll(lambda: not _pids_alive(old_pids), 30, what="the removed and replaced apps' workers to exit")
    import urllib.request
    text = urllib.request.urlopen(srv.admin_url + "/metrics", timeout=5).read().decode()
    assert re.search(r'^hearth_workers\{app="new",state="ready"\} 1$', text, re.M), text
    assert not re.search(r'^hearth_workers\{app="old"', text, re.M)


def test_a_reload_whose_new_app_cannot_start_changes_nothing(hearthd, tmp_path):
    sock = socket_path(tmp_path)
    srv = hearthd(None, workers=1, toml=RELOAD_BEFORE.format(sock=sock), ready_workers=3)
    cfg = tmp_path / "hearthd1.toml"
    broken = RELOAD_BEFORE.format(sock=sock) + '\n[[apps]]\nname = "bad"\napp = "broken:app"\nprefix = "/bad"\n'
    cfg.write_text(broken)
    r = ctl(sock, "reload", timeout=90)
    assert r.returncode == 1 and "bad cannot start" in (r.stdout + r.stderr), (r.stdout, r.stderr)
    doc = json.loads(ctl(sock, "--json", "status").stdout)
    assert [a["name"] for a in doc["apps"]] == ["api", "old", "site"], doc
    assert _get(srv, "/old/x").json()["tag"] == "old"
    assert _get(srv, "/bad/x").json()["tag"] == "site"  # never routed


def test_three_apps_and_a_command_upstream_kill_and_reload_under_load(hearthd, tmp_path):
    """The issue's scenario: three apps and `python3 -m http.server $PORT` as a command
    upstream; under a bounded load on two of the apps, the upstream's process is killed
    (it is restarted) and a third app is reloaded: no request to the loaded apps fails."""
    import os
    import signal
    import threading
    from conftest import PYTHON, pid_exited
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "hello.txt").write_text("from http.server\n")
    sock = socket_path(tmp_path)
    toml = THREE.format(sock=sock) + f"""
[[upstreams]]
name = "files"
prefix = "/files"
strip_prefix = true
command = "exec {PYTHON} -m http.server $PORT --bind 127.0.0.1"
chdir = "{tmp_path / 'files'}"
"""
    srv = hearthd(None, workers=1, toml=toml, ready_workers=3)
    poll(lambda: _get(srv, "/files/hello.txt").status == 200, 20, what="the http.server upstream")
    assert _get(srv, "/files/hello.txt").body == b"from http.server\n"

    stop, results = threading.Event(), []

    def load():
        for i in range(5000):  # bounded; stopped once both events are over
            if stop.is_set():
                return
            r = _get(srv, "/blog/") if i % 2 else _get(srv, "/", host="api.example.test")
            results.append((r.status, r.json().get("tag") if r.status == 200 else r.body[:200]))

    threads = [threading.Thread(target=load) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        poll(lambda: len(results) >= 20, 20, what="load before the kill")
        status = json.loads(ctl(sock, "status", "files", "--json").stdout)
        os.kill(status["pid"], signal.SIGKILL)
        poll(lambda: pid_exited(status["pid"]), 10, what="the upstream's process to die")
        poll(lambda: _get(srv, "/files/hello.txt").status == 200, 30, what="the upstream restarted")
        r = ctl(sock, "reload", "site", timeout=60)
        assert r.returncode == 0, (r.stdout, r.stderr)
        n = len(results)
        poll(lambda: len(results) >= n + 20, 20, what="load after the reload")
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    bad = [x for x in results if x[0] != 200 or x[1] not in ("api", "blog")]
    assert len(results) >= 40 and not bad, (bad[:5], srv.log_tail(30))
    after = json.loads(ctl(sock, "status", "files", "--json").stdout)
    assert after["restarts"] >= 1 and after["pid"] != status["pid"], after
    assert _get(srv, "/").json()["tag"] == "site"
    print(f"{len(results)} requests to api and blog, all 200; upstream restarts {after['restarts']}")
