"""The servers under test: how each one is configured, started, found and stopped.

Every stack serves the same app module from bench/apps with 2 sync worker processes,
preloading the app where the server supports it. Configs are generated into a temp dir.
"""
import glob
import os
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request

import procs

PYTHON = "/usr/bin/python3"
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
APPS_DIR = os.path.join(HERE, "apps")
# $HEARTHD: the binary under test (the Makefile sets it for `make test SANITIZE=1`).
HEARTHD = os.environ.get("HEARTHD") or os.path.join(REPO, "build", "bin", "hearthd")
WORKERS = 2


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StartError(RuntimeError):
    pass


class Server:
    """One running stack: the processes we started and how to find the rest of its tree."""

    def __init__(self, name, url, workdir):
        self.name = name
        self.url = url
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.procs = []        # (label, Popen), stopped front first
        self.pid_files = []    # files naming detached members (nginx master, Passenger watchdog)
        self.pid_globs = []
        self.commands = []     # what was run, for the report
        self.configs = {}      # file name -> text, for the report

    def spawn(self, label, argv, env=None, cwd=None):
        log = open(os.path.join(self.workdir, f"{label}.log"), "wb")
        self.commands.append(" ".join(argv))
        full_env = dict(os.environ)
        full_env.update(env or {})
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                env=full_env, cwd=cwd or self.workdir, start_new_session=True)
        log.close()
        self.procs.append((label, proc))
        return proc

    def write(self, name, text):
        path = os.path.join(self.workdir, name)
        with open(path, "w") as f:
            f.write(text)
        self.configs[name] = text
        return path

    def extra_pids(self):
        pids = []
        for path in self.pid_files + [p for g in self.pid_globs for p in glob.glob(g)]:
            try:
                with open(path) as f:
                    pids.append(int(f.read().split()[0]))
            except (OSError, ValueError, IndexError):
                pass
        return pids

    def pids(self):
        """Every live process of this stack's tree."""
        return procs.tree([p.pid for _, p in self.procs] + self.extra_pids())

    def main_pid(self, label):
        for lbl, p in self.procs:
            if lbl == label:
                return p.pid
        raise KeyError(label)

    def wait_ready(self, path="/", deadline=60.0):
        end = time.monotonic() + deadline
        last = None
        while time.monotonic() < end:
            for label, p in self.procs:
                if p.poll() is not None:
                    raise StartError(f"{self.name}: {label} exited with {p.returncode}; "
                                     f"see {self.workdir}/{label}.log:\n{self.log_tail(label)}")
            try:
                with urllib.request.urlopen(self.url + path.lstrip("/"), timeout=2,
                                            context=_unverified() if self.url.startswith("https:") else None) as r:
                    if r.status == 200:
                        return
                    last = r.status
            except (urllib.error.URLError, OSError) as e:
                last = e
            time.sleep(0.1)
        raise StartError(f"{self.name}: not ready after {deadline}s (last: {last})")

    def log_tail(self, label, n=15):
        try:
            with open(os.path.join(self.workdir, f"{label}.log"), errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def stop(self):
        """Stop everything we started, front first; returns PIDs that would not die."""
        members = self.pids()
        extra = self.extra_pids()
        for _, p in reversed(self.procs):
            procs.stop_popen(p, deadline=10.0)
        for pid in extra:
            procs.stop_pid(pid, deadline=10.0)
        for pid in members:
            procs.stop_pid(pid, deadline=3.0)
        return [p for p in members if procs.is_alive(p)]


def _unverified():
    """A client context for the bench's self-signed certificate (readiness probes only)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def make_tls_cert(workdir):
    """A self-signed EC P-256 certificate for 127.0.0.1, made now (the HTTPS static row: the same
    certificate for hearthd and nginx). Returns (certfile, keyfile)."""
    os.makedirs(workdir, exist_ok=True)
    cert, key = os.path.join(workdir, "cert.pem"), os.path.join(workdir, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def tls_negotiated(port):
    """What an OpenSSL client with default settings negotiates with 127.0.0.1:port, e.g.
    "TLSv1.3 TLS_AES_256_GCM_SHA384"; None when the handshake fails."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with _unverified().wrap_socket(raw) as s:
                return f"{s.version()} {s.cipher()[0]}"
    except (OSError, ssl.SSLError):
        return None


# --------------------------------------------------------------------------------------------
# Peers

def _uwsgi_argv(module, workdir, extra, plugins="python3"):
    return ["uwsgi", "--plugin", plugins, "--master", "--processes", str(WORKERS),
            "--chdir", APPS_DIR, "--module", f"{module}:application", "--need-app",
            "--die-on-term", "--disable-logging", "--pidfile", os.path.join(workdir, "uwsgi.pid")] + extra


def _nginx_conf(port, location, extra_http="", worker_connections=None, rlimit=None):
    head = ""
    if os.geteuid() == 0:
        # The bench runs as root: keep nginx's worker as root so it can reach the backend's
        # socket in the 0700 temp dir (otherwise it would switch to nobody).
        head += "user root root;\n"
    if rlimit:
        head += f"worker_rlimit_nofile {rlimit};\n"
    events = f"worker_connections {worker_connections}; " if worker_connections else ""
    return f"""{head}daemon off;
master_process on;
worker_processes 1;
pid nginx.pid;
error_log nginx-error.log warn;
events {{ {events}}}
http {{
    access_log off;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    uwsgi_temp_path tmp/uwsgi;
    fastcgi_temp_path tmp/fastcgi;
    scgi_temp_path tmp/scgi;
    default_type application/octet-stream;
{extra_http}    server {{
        listen {port};
{location}
    }}
}}
"""


def _start_nginx(server, conf_text):
    os.makedirs(os.path.join(server.workdir, "tmp"), exist_ok=True)
    server.write("nginx.conf", conf_text)
    server.pid_files.append(os.path.join(server.workdir, "nginx.pid"))
    server.spawn("nginx", ["nginx", "-p", server.workdir + "/", "-c", "nginx.conf"])


def start_uwsgi_http_socket(module, workdir):
    port = free_port()
    s = Server("uwsgi-http-socket", f"http://127.0.0.1:{port}/", workdir)
    s.spawn("uwsgi", _uwsgi_argv(module, workdir, ["--http-socket", f"127.0.0.1:{port}"]))
    return s


def start_uwsgi_http(module, workdir):
    port = free_port()
    s = Server("uwsgi-http", f"http://127.0.0.1:{port}/", workdir)
    s.spawn("uwsgi", _uwsgi_argv(module, workdir, ["--http", f"127.0.0.1:{port}"],
                                      plugins="http,python3"))
    return s


# uWSGI's HTTP modes close the connection after each response without saying so; wrk then
# counts a read error per request and reconnects late. With the close announced
# (`--add-header "Connection: close"`) wrk reconnects at once: the peer at its best (issue 14).
ANNOUNCE_CLOSE = ["--add-header", "Connection: close"]


def start_uwsgi_http_socket_close(module, workdir):
    port = free_port()
    s = Server("uwsgi-http-socket-close", f"http://127.0.0.1:{port}/", workdir)
    s.spawn("uwsgi", _uwsgi_argv(module, workdir, ["--http-socket", f"127.0.0.1:{port}", *ANNOUNCE_CLOSE]))
    return s


def start_uwsgi_http_close(module, workdir):
    port = free_port()
    s = Server("uwsgi-http-close", f"http://127.0.0.1:{port}/", workdir)
    s.spawn("uwsgi", _uwsgi_argv(module, workdir, ["--http", f"127.0.0.1:{port}", *ANNOUNCE_CLOSE],
                                      plugins="http,python3"))
    return s


def start_nginx_uwsgi(module, workdir):
    port = free_port()
    sock = os.path.join(workdir, "uwsgi.sock")
    s = Server("nginx-uwsgi", f"http://127.0.0.1:{port}/", workdir)
    s.spawn("uwsgi", _uwsgi_argv(module, workdir, ["--socket", sock, "--chmod-socket=660"]))
    loc = f"""        location / {{
            include /etc/nginx/uwsgi_params;
            uwsgi_pass unix:{sock};
        }}"""
    _start_nginx(s, _nginx_conf(f"127.0.0.1:{port}", loc))
    return s


def _gunicorn_argv(module, bind):
    return [PYTHON, "-m", "gunicorn", "--workers", str(WORKERS), "--worker-class", "sync",
            "--preload", "--bind", bind, "--chdir", APPS_DIR, f"{module}:application"]


def start_gunicorn(module, workdir):
    port = free_port()
    s = Server("gunicorn", f"http://127.0.0.1:{port}/", workdir)
    s.spawn("gunicorn", _gunicorn_argv(module, f"127.0.0.1:{port}"))
    return s


def start_nginx_gunicorn(module, workdir):
    port = free_port()
    sock = os.path.join(workdir, "gunicorn.sock")
    s = Server("nginx-gunicorn", f"http://127.0.0.1:{port}/", workdir)
    s.spawn("gunicorn", _gunicorn_argv(module, f"unix:{sock}"))
    loc = f"""        location / {{
            proxy_pass http://unix:{sock};
        }}"""
    _start_nginx(s, _nginx_conf(f"127.0.0.1:{port}", loc))
    return s


def start_passenger(module, workdir):
    port = free_port()
    s = Server("passenger", f"http://127.0.0.1:{port}/", workdir)
    appdir = os.path.join(workdir, "app")
    ptmp = os.path.join(workdir, "ptmp")
    reg = os.path.join(workdir, "registry")
    for d in (appdir, ptmp, reg):
        os.makedirs(d, exist_ok=True)
    s.write("app/passenger_wsgi.py",
            f"import sys\nsys.path.insert(0, {APPS_DIR!r})\nfrom {module} import application\n")
    pidfile = os.path.join(workdir, "passenger.pid")
    s.pid_files.append(pidfile)  # the watchdog, which double-forks away from the ruby front end
    s.pid_globs.append(os.path.join(ptmp, "passenger-standalone.*", "temp_dir_toucher.pid"))
    s.spawn("passenger", [
        "passenger", "start", appdir, "--engine", "builtin", "--address", "127.0.0.1",
        "--port", str(port), "--environment", "production",
        "--min-instances", str(WORKERS), "--max-pool-size", str(WORKERS),
        "--python", PYTHON, "--app-type", "wsgi", "--startup-file", "passenger_wsgi.py",
        "--disable-security-update-check", "--disable-anonymous-telemetry",
        "--log-file", os.path.join(workdir, "passenger-agent.log"), "--pid-file", pidfile,
        "--instance-registry-dir", reg,
    ], env={"TMPDIR": ptmp}, cwd=appdir)
    return s


def start_hearthd(module, workdir, extra=(), conf_extra="", scheme="http", conf_top=""):
    port = free_port()
    s = Server("hearthd", f"{scheme}://127.0.0.1:{port}/", workdir)
    conf = s.write("hearth.toml", conf_top + '[log]\naccess_log = ""\n' + conf_extra)
    s.spawn("hearthd", [HEARTHD, f"{module}:application", "--chdir", APPS_DIR, "--python", PYTHON,
                        "-b", f"127.0.0.1:{port}", "-w", str(WORKERS), "--preload", "-c", conf,
                        "--control-socket", os.path.join(workdir, "ctl.sock"),
                        *(["--allow-root"] if os.geteuid() == 0 else []), *extra])
    return s


def start_hearthd_no_ahead(module, workdir):
    # The A/B of docs/worker-protocol.md "Dispatch ahead": the same build with it off.
    return start_hearthd(module, workdir, conf_top="dispatch_ahead = false\n")


# Stacks run only when --only names them (A/B variants, not peers).
OPT_IN = {"hearthd-no-ahead"}

# name -> (start function, row label, short description of what a request goes through)
STACKS = {
    "uwsgi-http-socket": (start_uwsgi_http_socket, "uWSGI `--http-socket` (no proxy)"),
    "uwsgi-http-socket-close": (start_uwsgi_http_socket_close,
                                "uWSGI `--http-socket` + `--add-header \"Connection: close\"`"),
    "uwsgi-http": (start_uwsgi_http, "uWSGI `--http` (its router + workers)"),
    "uwsgi-http-close": (start_uwsgi_http_close, "uWSGI `--http` + `--add-header \"Connection: close\"`"),
    "nginx-uwsgi": (start_nginx_uwsgi, "nginx `uwsgi_pass` -> uWSGI (unix socket)"),
    "gunicorn": (start_gunicorn, "gunicorn sync"),
    "nginx-gunicorn": (start_nginx_gunicorn, "nginx `proxy_pass` -> gunicorn (unix socket)"),
    "passenger": (start_passenger, "Passenger standalone (builtin engine)"),
    "hearthd": (start_hearthd, "**hearthd**"),
    "hearthd-no-ahead": (start_hearthd_no_ahead, "hearthd, `dispatch_ahead = false`"),
}

PEER_BINARIES = {
    "uwsgi-http-socket": ["uwsgi"],
    "uwsgi-http-socket-close": ["uwsgi"],
    "uwsgi-http": ["uwsgi"],
    "uwsgi-http-close": ["uwsgi"],
    "nginx-uwsgi": ["uwsgi", "nginx"],
    "gunicorn": [],
    "nginx-gunicorn": ["nginx"],
    "passenger": ["passenger"],
    "hearthd": [HEARTHD],
    "hearthd-no-ahead": [HEARTHD],
}


def available(name):
    import shutil
    for b in PEER_BINARIES[name]:
        if not (shutil.which(b) or os.access(b, os.X_OK)):
            return False, f"{b} not installed"
    if name in ("gunicorn", "nginx-gunicorn"):
        r = subprocess.run([PYTHON, "-c", "import gunicorn"], capture_output=True)
        if r.returncode != 0:
            return False, "gunicorn not installed for " + PYTHON
    if name.startswith(("uwsgi", "nginx-uwsgi")) and not glob.glob("/usr/lib/uwsgi/plugins/python3*_plugin.so"):
        return False, "uwsgi-plugin-python3 not installed"
    return True, ""


# --------------------------------------------------------------------------------------------
# ASGI stacks (the FastAPI, WebSocket echo and first-event rows): 2 worker processes each,
# each worker one event loop serving many requests at once.

def _asgi_app(module):
    return f"{module}:application"


def start_uvicorn(module, workdir):
    port = free_port()
    s = Server("uvicorn", f"http://127.0.0.1:{port}/", workdir)
    # --no-access-log: uvicorn logs every request by default; the other stacks log none.
    s.spawn("uvicorn", [PYTHON, "-m", "uvicorn", "--workers", str(WORKERS), "--loop", "uvloop",
                        "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
                        "--app-dir", APPS_DIR, _asgi_app(module)], cwd=APPS_DIR)
    return s


def start_hypercorn(module, workdir):
    port = free_port()
    s = Server("hypercorn", f"http://127.0.0.1:{port}/", workdir)
    s.spawn("hypercorn", [PYTHON, "-m", "hypercorn", "--workers", str(WORKERS), "--worker-class", "uvloop",
                          "--bind", f"127.0.0.1:{port}", _asgi_app(module)], cwd=APPS_DIR)
    return s


def start_gunicorn_uvicorn(module, workdir):
    port = free_port()
    s = Server("gunicorn-uvicorn", f"http://127.0.0.1:{port}/", workdir)
    s.spawn("gunicorn", [PYTHON, "-m", "gunicorn", "--workers", str(WORKERS),
                         "--worker-class", "uvicorn.workers.UvicornWorker", "--preload",
                         "--bind", f"127.0.0.1:{port}", "--chdir", APPS_DIR, _asgi_app(module)])
    return s


def start_hearthd_asgi(module, workdir):
    return start_hearthd(module, workdir, extra=["--interface", "asgi"])


ASGI_STACKS = {
    "uvicorn": (start_uvicorn, "uvicorn `--workers 2 --loop uvloop`"),
    "hypercorn": (start_hypercorn, "hypercorn `--workers 2 --worker-class uvloop`"),
    "gunicorn-uvicorn": (start_gunicorn_uvicorn, "gunicorn `-w 2 -k uvicorn.workers.UvicornWorker`"),
    "hearthd": (start_hearthd_asgi, "**hearthd** `--interface asgi`"),
}

# Python modules each ASGI stack needs besides the app's own (FastAPI).
ASGI_MODULES = {
    "uvicorn": ["uvicorn", "uvloop"],
    "hypercorn": ["hypercorn", "uvloop"],
    "gunicorn-uvicorn": ["gunicorn", "uvicorn"],
    "hearthd": [],
}


def available_asgi(name):
    if name == "hearthd":
        return available(name)
    mods = ASGI_MODULES[name] + ["fastapi"]
    r = subprocess.run([PYTHON, "-c", "import " + ", ".join(mods)], capture_output=True, text=True)
    if r.returncode != 0:
        return False, f"{' or '.join(mods)} not importable by {PYTHON}"
    return True, ""
