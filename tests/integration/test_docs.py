"""The guides in docs/ are true: the quickstart's commands run as written (on
free ports), every hearthd flag and config key a guide names exists, and the
gunicorn and uWSGI migration tables cover those servers' real options."""
import json
import os
import pathlib
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import HEARTHD, ROOT, poll, wait_exited
from lifecycle_util import HEARTHCTL

DOCS = ROOT / "docs"
GUIDES = ["quickstart.md", "cli.md", "migrating-from-gunicorn.md", "migrating-from-nginx-gunicorn.md",
          "migrating-from-uwsgi.md", "small-hosts.md"]




def doc(name):
    return (DOCS / name).read_text()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def code_block(text, lang, after):
    """The first ```lang block after the text `after`."""
    start = text.index(after)
    m = re.compile(rf"```{lang}\n(.*?)```", re.S).search(text, start)
    return m.group(1)


def hearthd_help():
    return subprocess.run([str(HEARTHD), "--help"], capture_output=True, text=True, timeout=10).stdout


def hearthd_flags():
    return set(re.findall(r"(--[a-z][a-z0-9-]*)", hearthd_help()))


def config_keys():
    out = subprocess.run([str(HEARTHD), "--print-config-reference"], capture_output=True, text=True,
                         timeout=10).stdout
    keys = set()
    section = ""
    for line in out.splitlines():
        m = re.match(r"## `\[\[?(\w+)\]?\]`", line)
        if m:
            section = m.group(1)
        elif line.startswith("## "):
            section = "" if "Top-level" in line else None
        m = re.match(r"\| `(\w+)` \|", line)
        if m and section is not None:
            keys.add(f"{section}.{m.group(1)}" if section else m.group(1))
            if section:
                keys.add(section)
    return keys


# ------------------------------------------------------------------ quickstart

class Quickstart:
    """Runs the quickstart's commands in a temp dir, on free ports, with its own control socket."""

    def __init__(self, tmp_path):
        self.text = doc("quickstart.md")
        self.dir = tmp_path
        self.port, self.admin = free_port(), free_port()
        sock_dir = pathlib.Path(tempfile_dir())
        self.sock = sock_dir / "hearthd.sock"
        self.proc = None

    def subst(self, cmd):
        assert cmd in self.text, f"the quickstart no longer says: {cmd}"
        cmd = cmd.replace("127.0.0.1:8000", f"127.0.0.1:{self.port}").replace("127.0.0.1:8001",
                                                                            f"127.0.0.1:{self.admin}")
        argv = shlex.split(cmd)
        if argv[0] == "build/bin/hearthd":
            argv = [str(HEARTHD)] + argv[1:] + ["--control-socket", str(self.sock)]
        elif argv[0] == "build/bin/hearthctl":
            argv = [str(HEARTHCTL), "-s", str(self.sock)] + argv[1:]
        return argv

    def run(self, cmd, **kw):
        return subprocess.run(self.subst(cmd), cwd=self.dir, capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL, **kw)

    def start(self, cmd):
        self.log = self.dir / "hearthd.log"
        self.proc = subprocess.Popen(self.subst(cmd), cwd=self.dir, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=open(self.log, "wb"))
        poll(lambda: "workers ready: 2/2" in self.log.read_text() or self.proc.poll() is not None, 30,
             what="hearthd ready")
        assert self.proc.poll() is None, self.log.read_text()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def tempfile_dir():
    import tempfile
    return tempfile.mkdtemp(prefix="qs", dir="/tmp")


def curl(*args):
    r = subprocess.run(["curl", "-sS", "--max-time", "10", *args], capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is missing")
def test_quickstart_runs_as_written(tmp_path):
    qs = Quickstart(tmp_path)
    (tmp_path / "myapp").mkdir()
    (tmp_path / "myapp" / "app.py").write_text(code_block(qs.text, "python", "myapp/app.py"))
    try:
        qs.start("build/bin/hearthd app:app --chdir myapp -b 127.0.0.1:8000 --admin-bind 127.0.0.1:8001 -w 2")
        log = qs.log.read_text()
        assert f"listening on http://127.0.0.1:{qs.port}" in log
        assert f"metrics at http://127.0.0.1:{qs.admin}/metrics" in log

        assert "curl http://127.0.0.1:8000/ " in qs.text
        assert re.fullmatch(r"hello from worker [12]\n", curl(f"http://127.0.0.1:{qs.port}/"))
        assert "curl --http2-prior-knowledge http://127.0.0.1:8000/" in qs.text
        assert curl("--http2-prior-knowledge", f"http://127.0.0.1:{qs.port}/").startswith("hello from worker")
        assert "curl http://127.0.0.1:8001/readyz" in qs.text
        curl("--fail", f"http://127.0.0.1:{qs.admin}/readyz")
        assert "grep hearth_requests_total" in qs.text
        assert "hearth_requests_total" in curl(f"http://127.0.0.1:{qs.admin}/metrics")

        st = qs.run("build/bin/hearthctl status")
        assert st.returncode == 0 and "USS_MiB" in st.stdout, st.stderr

        app = tmp_path / "myapp" / "app.py"
        assert "(say `hello` → `hi`)" in qs.text
        app.write_text(app.read_text().replace('"hello from', '"hi from'))
        r = qs.run("build/bin/hearthctl reload")
        assert r.returncode == 0, r.stdout + r.stderr
        assert curl(f"http://127.0.0.1:{qs.port}/").startswith("hi from worker")
        r = qs.run("build/bin/hearthctl scale 4")
        assert r.returncode == 0, r.stderr
        r = qs.run("build/bin/hearthctl --json status")
        assert r.returncode == 0 and json.loads(r.stdout)["desired_workers"] == 4
        r = qs.run("build/bin/hearthctl stop")
        assert r.returncode == 0, r.stderr
        assert qs.proc.wait(timeout=30) == 0
    finally:
        qs.stop()

    # The config file, with the quickstart's ports swapped for free ones.
    toml = code_block(qs.text, "toml", "`myapp/hearth.toml`")
    toml = toml.replace("127.0.0.1:8000", f"127.0.0.1:{qs.port}").replace("127.0.0.1:8001",
                                                                          f"127.0.0.1:{qs.admin}")
    (tmp_path / "myapp" / "hearth.toml").write_text(toml)
    r = qs.run("build/bin/hearthd -c myapp/hearth.toml --chdir myapp --check-config")
    assert r.returncode == 0, r.stderr
    assert 'max_body_size = "20MiB"' in r.stdout
    try:
        qs.start("build/bin/hearthd -c myapp/hearth.toml --chdir myapp")
        assert curl(f"http://127.0.0.1:{qs.port}/").startswith("hi from worker")
    finally:
        qs.stop()
    assert qs.proc.returncode == 0

    # The typo example is what hearthd really says.
    (tmp_path / "typo.toml").write_text(toml.replace("max_body_size", "max_bodysize"))
    r = subprocess.run([str(HEARTHD), "-c", "typo.toml", "--check-config"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 2
    assert "unknown key 'http.max_bodysize' (did you mean 'http.max_body_size'?)" in r.stderr
    assert "unknown key 'http.max_bodysize' (did you mean 'http.max_body_size'?)" in qs.text


# ---------------------------------------------------------- names in the guides

@pytest.mark.parametrize("guide", GUIDES)
def test_every_flag_a_guide_names_exists(guide):
    text = doc(guide)
    ctl_help = subprocess.run([str(HEARTHCTL), "--help"], capture_output=True, text=True, timeout=10).stdout
    flags = hearthd_flags() | set(re.findall(r"(--[a-z][a-z0-9-]*)", ctl_help))
    # Flags in hearth's own commands and in the "hearth" column of the tables.
    named = set()
    for line in text.splitlines():
        for cmd in re.findall(r"hearthd [^`\n]*", line):
            named |= set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", cmd))
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if len(cells) >= 2:
                for cell in cells[1:2]:
                    named |= set(re.findall(r"`(--[a-z][a-z0-9-]*)", cell))
    # --wrokers is cli.md's example of a typo, --reload its example of a refused gunicorn
    # flag; curl's flag is not ours.
    unknown = sorted(f for f in named - flags if f not in ("--http2-prior-knowledge", "--wrokers", "--reload"))
    assert not unknown, f"{guide} names hearthd flags that do not exist: {unknown}"


@pytest.mark.parametrize("guide", GUIDES)
def test_every_config_key_a_guide_names_exists(guide):
    text = doc(guide)
    keys = config_keys()
    named = set(re.findall(r"`((?:http|log|health|warmup|keepwarm|hooks|tls)\.[a-z0-9_]+)", text))
    # Keys in TOML snippets: `key = value` inside ```toml blocks, with their [section].
    for block in re.findall(r"```toml\n(.*?)```", text, re.S):
        section = ""
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            m = re.match(r"\[\[?([\w.]+)\]?\]$", line)
            if m:
                section = m.group(1)
                continue
            m = re.match(r"([a-z_0-9]+)\s*=", line)
            if m and not section.startswith(("env", "warmup.requests")):
                named.add(f"{section}.{m.group(1)}" if section else m.group(1))
    unknown = sorted(named - keys)
    assert not unknown, f"{guide} names config keys that do not exist: {unknown}"


def _help_flags(cmd):
    """Long options in a --help listing: the part of each option line before its description."""
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    out = set()
    for line in (r.stdout + r.stderr).splitlines():
        if re.match(r"^\s+-", line):
            out |= set(re.findall(r"(--[a-z][a-z0-9_-]*)", re.split(r"\s{2,}", line.strip())[0]))
    return out


@pytest.mark.skipif(shutil.which("gunicorn") is None, reason="gunicorn is not installed (packaging/install-deps.sh bench)")
def test_gunicorn_guide_maps_every_gunicorn_flag():
    flags = _help_flags(["gunicorn", "--help"])
    assert len(flags) > 50, flags
    text = doc("migrating-from-gunicorn.md")
    rows = set()
    for first_cell in re.findall(r"^\|([^|\n]*)\|", text, re.M):
        rows |= set(re.findall(r"(--[a-z][a-z0-9_-]*)", first_cell))
    missing = sorted(flags - rows)
    assert not missing, f"gunicorn flags without a row in migrating-from-gunicorn.md: {missing}"


@pytest.mark.skipif(shutil.which("uwsgi") is None, reason="uwsgi is not installed (packaging/install-deps.sh bench)")
def test_uwsgi_guide_options_are_real_uwsgi_options():
    r = subprocess.run(["uwsgi", "--plugin", "python3,http", "--help"], capture_output=True, text=True, timeout=30)
    real = set(re.findall(r"--([a-z][a-z0-9-]*)", r.stdout))
    assert len(real) > 300
    text = doc("migrating-from-uwsgi.md")
    text = text[text.index("## Option by option"):text.index("## Operations")]
    rows = set(re.findall(r"^\| `([a-z][a-z0-9-]*)`", text, re.M))
    assert len(rows) >= 40, rows
    fake = sorted(rows - real)
    assert not fake, f"migrating-from-uwsgi.md lists options uwsgi does not have: {fake}"


def _self_signed(tmp_path):
    cert, key = tmp_path / "snippet-cert.pem", tmp_path / "snippet-key.pem"
    if not cert.exists():
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
                       check=True, capture_output=True, timeout=30)
    return cert, key


@pytest.mark.parametrize("guide", GUIDES)
def test_toml_snippets_in_guides_pass_check_config(guide, tmp_path):
    blocks = re.findall(r"```toml\n(.*?)```", doc(guide), re.S)
    checked = 0
    for i, block in enumerate(blocks):
        # The certificate files a TLS snippet names do not exist here: point them at a
        # throwaway self-signed pair, so the snippet is checked (and loaded) all the same.
        if re.search(r"^\s*(certfile|keyfile)\s*=", block, re.M):
            cert, key = _self_signed(tmp_path)
            block = re.sub(r'^(\s*certfile\s*=\s*)"[^"]*"', lambda m: f'{m.group(1)}"{cert}"', block, flags=re.M)
            block = re.sub(r'^(\s*keyfile\s*=\s*)"[^"]*"', lambda m: f'{m.group(1)}"{key}"', block, flags=re.M)
        # A [[static]] mount's dir must exist: give each one a directory under tmp_path.
        for d in re.findall(r'^dir\s*=\s*"([^"]+)"', block, re.M):
            local = tmp_path / "static-dirs" / d.lstrip("/")
            local.mkdir(parents=True, exist_ok=True)
            block = block.replace(f'"{d}"', f'"{local}"')
        f = tmp_path / f"snippet{i}.toml"
        f.write_text(block)
        args = [str(HEARTHD), "-c", str(f), "--check-config"]
        if not re.search(r"^app\s*=", block, re.M):
            args.append("app:app")
        r = subprocess.run(args, capture_output=True, text=True, timeout=10, cwd=tmp_path,
                           env={k: v for k, v in os.environ.items() if k not in ("PORT", "WEB_CONCURRENCY")})
        assert r.returncode == 0, f"{guide}, TOML block {i + 1}:\n{block}\n{r.stderr}"
        checked += 1
    if not blocks:
        pytest.skip(f"{guide} has no TOML")


# ------------------------------------------------------------------ small hosts

MIB = 1 << 20


def _memory_status(hearthd, tmp_path, mode, *extra, workers=2, toml='memory_interval = "1s"\n'):
    from lifecycle_util import start, wait_status
    d = tmp_path / mode
    d.mkdir()
    srv, sock = start(hearthd, d, "hw_memory:app", "-e", "HW_PRE_MIB=64", "-e", "HW_POST_MIB=0", *extra,
                      workers=workers, toml=toml, wait=False)
    srv.wait_log(re.compile(r"control socket at"), timeout=30)
    return srv, sock, wait_status


def test_small_hosts_preload_shares_the_model_and_lazy_does_not(hearthd, tmp_path):
    """The relations docs/small-hosts.md states, with a 64 MiB 'model' and 2 workers."""
    st = {}
    for mode, extra in (("preload", ()), ("lazy", ("--no-preload",))):
        srv, sock, wait_status = _memory_status(hearthd, tmp_path, mode, *extra)
        st[mode] = wait_status(sock, lambda s: len([w for w in s["workers"] if w["state"] == "ready"]) == 2
                               and all(w.get("uss_bytes", 0) > 0 for w in s["workers"])
                               and s.get("memory", {}).get("total_pss_bytes", 0) > 0, 60, "2 sampled workers")
        assert srv.stop() == 0
    pre, lazy = st["preload"], st["lazy"]
    assert pre["preload"] is True and lazy["preload"] is False
    for w in pre["workers"]:
        assert w["uss_bytes"] < 24 * MIB, w       # the model is shared: a worker holds little of its own
        assert w["rss_bytes"] > 64 * MIB, w       # ... though RSS counts the model in every worker
    for w in lazy["workers"]:
        assert w["uss_bytes"] > 60 * MIB, w       # every lazy worker has its own copy
    assert pre["memory"]["total_pss_bytes"] + 40 * MIB < lazy["memory"]["total_pss_bytes"], (pre["memory"],
                                                                                            lazy["memory"])
    assert pre["memory"]["total_rss_bytes"] > 1.5 * pre["memory"]["total_pss_bytes"], pre["memory"]


def test_small_hosts_memory_budget_caps_lazy_workers(hearthd, tmp_path):
    srv, sock, wait_status = _memory_status(hearthd, tmp_path, "budget", "--no-preload", workers=4,
                                            toml='memory_interval = "1s"\nmemory_budget = "200MiB"\n')
    st = wait_status(sock, lambda s: s.get("effective_workers") == 2
                     and len([w for w in s["workers"] if w["state"] == "ready"]) == 2, 60, "capped at 2 workers")
    assert st["desired_workers"] == 4
    srv.wait_log(re.compile(r"memory_budget 200 MiB fits 2 worker\(s\) .*capping from 4"), timeout=5)
    out = subprocess.run([str(HEARTHCTL), "-s", str(sock), "status"], capture_output=True, text=True,
                         timeout=10).stdout
    assert "workers 2/4 ready" in out, out


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is missing")
def test_small_hosts_unix_socket_bind_as_documented(hearthd, tmp_path):
    text = doc("small-hosts.md")
    assert "-b unix:$HOME/run/app.sock" in text and "curl --unix-socket $HOME/run/app.sock http://localhost/" in text
    home = pathlib.Path(tempfile_dir())
    (home / "run").mkdir()
    sock = home / "run" / "app.sock"
    srv = hearthd("basic:app", "-b", f"unix:{sock}", workers=1, wait=False)
    srv.wait_log(re.compile(r"workers ready: 1/1"), timeout=30)
    out = curl("--unix-socket", str(sock), "http://localhost/")
    assert out, out
    shutil.rmtree(home, ignore_errors=True)
