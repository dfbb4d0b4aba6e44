"""The command-line experience (issue 9): hearthd --version/--help, the start-up
lines that say where hearthd listens, hearthctl's help, errors, colour (tty,
NO_COLOR, --color) and JSON, and the bash/zsh completion scripts."""
import json
import os
import pathlib
import pty
import re
import select
import shutil
import subprocess
import time

import pytest

from conftest import HEARTHD, ROOT, poll
from lifecycle_util import HEARTHCTL, ctl, start

ESC = "\x1b["
COMPLETION = ROOT / "packaging" / "completion"


def run(*cmd, env=None, timeout=30):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env=env)


def project_version():
    m = re.search(r"project\(hearth VERSION (\S+)", (ROOT / "CMakeLists.txt").read_text())
    return m.group(1)


def run_on_pty(cmd, env, timeout=20):
    """Run `cmd` with stdout (and stderr) on a pseudo-terminal; returns (rc, output)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([str(c) for c in cmd], stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                         env=env, close_fds=True)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            r, _, _ = select.select([master], [], [], 0.2)
            if r:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
            elif p.poll() is not None:
                break
        rc = p.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
    return rc, out.decode(errors="replace")


# --------------------------------------------------------------------- hearthd

def test_hearthd_version_is_the_cmake_project_version():
    r = run(HEARTHD, "--version")
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(rf"hearthd {re.escape(project_version())}( \(git [^)]+\))?\n", r.stdout), r.stdout
    assert run(HEARTHD, "-v").stdout == r.stdout


def test_hearthd_help_is_grouped_and_fits_a_terminal():
    r = run(HEARTHD, "--help")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.startswith("usage: hearthd [OPTIONS] [APP]\n")
    for group in ("General:", "Application:", "Listeners:", "Workers:", "Timeouts:", "HTTP:", "Logging:",
                  "Environment:"):
        assert f"\n{group}\n" in out, group
    assert all(len(line) <= 79 for line in out.splitlines())
    assert "[default: 30s]" in out and "--print-config-reference" in out
    # Every flag in --help is documented in docs/cli.md.
    cli_md = (ROOT / "docs" / "cli.md").read_text()
    for flag in re.findall(r"^  (?:-\w, |    )(--[\w-]+)", out, re.M):
        assert f"`{flag}" in cli_md or f", {flag}" in cli_md, f"{flag} is not in docs/cli.md"


def test_hearthd_unknown_flag_suggests_and_exits_2():
    r = run(HEARTHD, "--wrokers", "2", "app:app")
    assert r.returncode == 2
    assert "--wrokers: unknown option (did you mean --workers?)" in r.stderr, r.stderr


def test_print_config_reference_matches_docs():
    r = run(HEARTHD, "--print-config-reference")
    assert r.returncode == 0, r.stderr
    assert "| `max_body_size` | size | `10MiB` |" in r.stdout
    check = run("/usr/bin/python3", ROOT / "docs" / "tools" / "update_generated.py", HEARTHD, "--check")
    assert check.returncode == 0, check.stdout + check.stderr


def test_startup_says_where_it_listens_and_where_metrics_are(hearthd, tmp_path):
    srv, sock = start(hearthd, tmp_path, "basic:app", workers=1, ready_workers=1)
    log = srv.log()
    assert re.search(r"\[http\] listening on http://127\.0\.0\.1:\d+", log), log
    admin = srv.admin_url
    assert f"metrics at {admin}/metrics, health at {admin}/healthz and {admin}/readyz" in log, log
    assert f"control socket at {sock}" in log, log


def test_startup_names_a_unix_admin_socket(hearthd, tmp_path):
    admin_sock = tmp_path / "admin.sock"
    if len(str(admin_sock)) > 100:
        pytest.skip("tmp path too long for a unix socket")
    srv, _ = start(hearthd, tmp_path, "basic:app", "--admin-bind", f"unix:{admin_sock}", workers=1,
                   admin=False, wait=False)
    line = (f"metrics at http://localhost/metrics, health at http://localhost/healthz and "
            f"http://localhost/readyz (through unix:{admin_sock})")
    srv.wait_log(re.compile(re.escape(line)), timeout=20)


# -------------------------------------------------------------------- hearthctl

def test_hearthctl_help_and_version():
    r = run(HEARTHCTL, "--help")
    assert r.returncode == 0
    for word in ("status", "reload", "scale N", "stop", "--socket", "--json", "--color", "Exit status"):
        assert word in r.stdout, word
    assert run(HEARTHCTL, "help").stdout == r.stdout
    v = run(HEARTHCTL, "--version")
    assert v.returncode == 0
    assert re.fullmatch(rf"hearthctl {re.escape(project_version())}( \(git [^)]+\))?\n", v.stdout), v.stdout


@pytest.mark.parametrize("args, message", [
    ([], "no command given"),
    (["frobnicate"], "unknown command 'frobnicate'"),
    (["--colour=blue", "status"], "--colour: expected auto, always or never, got 'blue'"),
    (["--bogus", "status"], "unknown option --bogus"),
    (["scale"], "usage: hearthctl scale [APP] N"),
    (["status", "a", "b"], "'status' takes at most one argument (an app name)"),
    (["stop", "now"], "'stop' takes no arguments"),
])
def test_hearthctl_usage_errors_exit_2_and_point_at_help(args, message):
    r = run(HEARTHCTL, *args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert message in r.stderr and "Try 'hearthctl --help'" in r.stderr, r.stderr


def test_hearthctl_unreachable_daemon_exits_3_with_a_hint(tmp_path):
    r = run(HEARTHCTL, "--socket", tmp_path / "nothing.sock", "status")
    assert r.returncode == 3
    assert "cannot reach hearthd" in r.stderr and "--socket PATH" in r.stderr, r.stderr


def test_hearthctl_colour_json_and_no_color(hearthd, tmp_path):
    srv, sock = start(hearthd, tmp_path, "basic:app", workers=1, ready_workers=1)
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}
    env["TERM"] = "xterm"

    plain = ctl(sock, "status")  # a pipe: no colour by default
    assert plain.returncode == 0 and ESC not in plain.stdout, plain.stdout
    assert re.search(r"^1\s+\d+\s+1\s+ready\s", plain.stdout, re.M), plain.stdout

    forced = ctl(sock, "--color=always", "status")
    assert f"{ESC}32mready{ESC}0m" in forced.stdout, forced.stdout
    # Colour does not move the columns: without the escapes the table is the same shape.
    stripped = re.sub(r"\x1b\[[0-9;]*m", "", forced.stdout)
    assert [len(line) for line in stripped.splitlines()[3:5]] == [len(line) for line in plain.stdout.splitlines()[3:5]]

    rc, tty_out = run_on_pty([HEARTHCTL, "--socket", sock, "status"], env)
    assert rc == 0 and f"{ESC}32mready" in tty_out, tty_out
    rc, no_color = run_on_pty([HEARTHCTL, "--socket", sock, "status"], {**env, "NO_COLOR": "1"})
    assert rc == 0 and ESC not in no_color and "ready" in no_color, no_color
    rc, never = run_on_pty([HEARTHCTL, "--socket", sock, "--no-color", "status"], env)
    assert rc == 0 and ESC not in never, never
    rc, dumb = run_on_pty([HEARTHCTL, "--socket", sock, "status"], {**env, "TERM": "dumb"})
    assert rc == 0 and ESC not in dumb, dumb

    # --json: one JSON document per line, never coloured.
    j = ctl(sock, "--json", "--color=always", "status")
    assert j.returncode == 0 and ESC not in j.stdout
    assert j.stdout.endswith("\n") and j.stdout.count("\n") == 1
    doc = json.loads(j.stdout)
    assert doc["ok"] is True and doc["workers"][0]["state"] == "ready"

    # An error from the daemon goes to stderr, "error:" red only when asked.
    bad = ctl(sock, "--color=always", "scale", "0")
    assert bad.returncode == 1 and f"{ESC}31merror:{ESC}0m" in bad.stderr, bad.stderr
    bad_json = ctl(sock, "--json", "scale", "0")
    assert bad_json.returncode == 1 and json.loads(bad_json.stdout)["ok"] is False


# ------------------------------------------------------------------ completion

def complete(*words, cword=None):
    """COMPREPLY of the bash completion for `words` (the last one is being completed)."""
    script = COMPLETION / "hearthctl.bash"
    cword = len(words) - 1 if cword is None else cword
    arr = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
    code = (f"source '{script}'\n"
            f"COMP_WORDS=({arr}); COMP_CWORD={cword}; COMPREPLY=()\n"
            "_hearthctl\n"
            "printf '%s\\n' \"${COMPREPLY[@]}\"\n"
            "complete -p hearthctl >&2\n")
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c", code], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    assert "complete -F _hearthctl hearthctl" in r.stderr
    return [w for w in r.stdout.splitlines() if w]


def test_bash_completion_commands_options_and_values(tmp_path):
    assert complete("hearthctl", "") == ["status", "reload", "upgrade", "scale", "stop", "help"]
    assert complete("hearthctl", "st") == ["status", "stop"]
    assert complete("hearthctl", "--json", "re") == ["reload"]
    assert set(complete("hearthctl", "--")) >= {"--socket", "--json", "--color=", "--no-color", "--help",
                                                "--version"}
    assert complete("hearthctl", "--color=n") == ["--color=never"]
    assert complete("hearthctl", "--color", "=", "a") == ["auto", "always"]
    assert complete("hearthctl", "status", "") == []
    (tmp_path / "hearthd.sock").touch()
    assert complete("hearthctl", "--socket", str(tmp_path / "hea")) == [str(tmp_path / "hearthd.sock")]
    # The socket's value is not mistaken for the command.
    assert complete("hearthctl", "-s", str(tmp_path / "hearthd.sock"), "sc") == ["scale"]


def test_completion_scripts_know_every_hearthctl_command_and_option():
    help_text = run(HEARTHCTL, "--help").stdout
    options = set(re.findall(r"(--[a-z][\w-]*)", help_text))
    bash = (COMPLETION / "hearthctl.bash").read_text()
    zsh = (COMPLETION / "_hearthctl").read_text()
    for opt in options:
        assert opt in bash, f"{opt} missing from hearthctl.bash"
        assert opt in zsh, f"{opt} missing from _hearthctl"
    for cmd in ("status", "reload", "scale", "stop"):
        assert f"'{cmd}:" in zsh and cmd in bash, cmd
    assert zsh.startswith("#compdef hearthctl\n")


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_completion_parses_and_registers_for_hearthctl():
    r = run("zsh", "-n", COMPLETION / "_hearthctl")
    assert r.returncode == 0, r.stderr
    # compinit finds it on $fpath through its #compdef line.
    r = run("zsh", "-f", "-c", f"fpath=({COMPLETION} $fpath); autoload -U compinit; compinit -u -D; "
            "print -r -- ${_comps[hearthctl]}")
    assert r.returncode == 0 and r.stdout.strip() == "_hearthctl", (r.stdout, r.stderr)


# --- gunicorn command lines (issue 15) ------------------------------------------------

def test_help_lists_each_group_once():
    out = run(HEARTHD, "--help").stdout
    for group in re.findall(r"^(\w[\w ]*):$", out, re.M):
        assert out.count(f"\n{group}:\n") == 1, f"{group}: listed twice in --help"


def test_a_pasted_gunicorn_line_is_accepted(tmp_path):
    r = run(HEARTHD, "basic:app", "-k", "gthread", "--threads", "4", "-w", "2",
            "--error-logfile", tmp_path / "error.log", "--capture-output", "--pid", tmp_path / "h.pid",
            "--limit-request-line", "4094", "--limit-request-fields", "50",
            "--limit-request-field_size", "8190", "--backlog", "64", "--worker-tmp-dir", "/dev/shm",
            "--name", "myapp", "--umask", "027", "--check-config")
    assert r.returncode == 0, r.stderr
    for line in ('threads = 4', f'error_log = "{tmp_path / "error.log"}"', 'capture_output = true',
                 f'pid_file = "{tmp_path / "h.pid"}"', 'max_request_line = "4094"',
                 'max_headers = 50', 'max_header_field_size = "8190"', 'backlog = 64',
                 'proc_name = "myapp"', 'umask = "0027"'):
        assert line in r.stdout, f"{line!r} not in:\n{r.stdout}"
    assert run(HEARTHD, "basic:app", "-k", "sync", "--log-file", "-", "--check-config").returncode == 0


@pytest.mark.parametrize("args, says", [
    (["--reload"], "use `hearthctl reload`"),
    (["-D"], "runs in the foreground"),
    (["--daemon"], "runs in the foreground"),
    (["--worker-connections", "1000"], "--threads N"),
    (["--statsd-host", "localhost:8125"], "--admin-bind"),
    (["--access-logformat", "%(h)s %(r)s"], "--access-log-format combined or json"),
    (["-k", "uvicorn.workers.SomeOtherWorker"], "hearthd serves ASGI apps itself"),
    (["--worker-class", "gevent"], "sync workers with --threads N"),
])
def test_gunicorn_flags_without_a_meaning_here_name_the_equivalent(args, says):
    r = run(HEARTHD, "basic:app", *args, "-b", "127.0.0.1:0")
    assert r.returncode == 2, r.stderr
    errors = [line for line in r.stderr.splitlines() if not line.endswith("not starting")]
    assert len(errors) == 1, f"one error expected:\n{r.stderr}"
    assert says in errors[0], r.stderr
    assert "did you mean" not in r.stderr and "unexpected argument" not in r.stderr, r.stderr


@pytest.mark.parametrize("args, says", [
    (["--limit-request-fields", "0"], "from 1 to 32768"),
    (["--umask", "0999"], "octal mask"),
    (["--backlog", "0"], "backlog"),
    (["--name", "a-much-too-long-process-name"], "15 bytes"),
])
def test_gunicorn_flag_values_are_checked(args, says):
    r = run(HEARTHD, "basic:app", *args, "--check-config")
    assert r.returncode == 2, r.stdout + r.stderr
    assert says in r.stderr, r.stderr


def test_check_config_as_root_without_user_exits_2_like_a_start():
    if os.geteuid() != 0:
        pytest.skip("needs root")
    env = {k: v for k, v in os.environ.items() if k != "HEARTH_ALLOW_ROOT"}
    check = run(HEARTHD, "basic:app", "--check-config", env=env)
    start_ = run(HEARTHD, "basic:app", "-b", "127.0.0.1:0", env=env)
    assert check.returncode == 2 and start_.returncode == 2, (check.stderr, start_.stderr)
    refusal = "would run the app as root"
    assert refusal in check.stderr and refusal in start_.stderr, (check.stderr, start_.stderr)
    assert run(HEARTHD, "basic:app", "--check-config", "--allow-root", env=env).returncode == 0


def test_unterminated_toml_string_says_so(tmp_path):
    cfg = tmp_path / "h.toml"
    cfg.write_text('app = "basic:app\nworkers = 2\n')
    r = run(HEARTHD, "-c", cfg, "--check-config")
    assert r.returncode == 2
    assert f"{cfg}:1:" in r.stderr and "unterminated string" in r.stderr, r.stderr


def test_keepwarm_jitter_follows_a_short_interval(tmp_path):
    cfg = tmp_path / "h.toml"
    cfg.write_text('app = "basic:app"\n[keepwarm]\nurl = "http://127.0.0.1:9/"\ninterval = "2s"\n')
    r = run(HEARTHD, "-c", cfg, "--check-config")
    assert r.returncode == 0, r.stderr
    assert 'jitter = "200ms"' in r.stdout, r.stdout
    cfg.write_text('app = "basic:app"\n[keepwarm]\nurl = "http://127.0.0.1:9/"\ninterval = "2s"\njitter = "3s"\n')
    r = run(HEARTHD, "-c", cfg, "--check-config")
    assert r.returncode == 2 and "keepwarm.jitter" in r.stderr, r.stderr  # set by hand: still checked


def test_default_workers_follow_the_cpus_it_may_use():
    if shutil.which("taskset") is None:
        pytest.skip("taskset is not installed")
    r = run("taskset", "-c", "0", HEARTHD, "basic:app", "--check-config")
    assert r.returncode == 0, r.stderr
    assert "workers = 3\n" in r.stdout, r.stdout  # 2 x 1 CPU + 1


def test_error_log_pid_file_capture_output_and_reopen(hearthd, tmp_path):
    """--error-logfile, --pid, --capture-output; SIGUSR1 reopens the error log at its
    path, and a reopen that fails keeps the old file with a warning."""
    import signal
    import urllib.request
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    (app_dir / "talky.py").write_text(
        "import sys\nprint('talky-stdout-at-import', flush=True)\n"
        "print('talky-stderr-at-import', file=sys.stderr, flush=True)\n"
        "def app(environ, start_response):\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "    return [b'ok']\n")
    log = tmp_path / "logs" / "error.log"
    log.parent.mkdir()
    pid = tmp_path / "hearthd.pid"
    srv = hearthd("talky:app", "--error-logfile", log, "--pid", pid, "--capture-output", workers=1,
                  chdir=app_dir, wait=False)
    srv.stderr_path = log  # the fixture reads the daemon's log from here now
    srv.wait_ready(20)
    assert pid.read_text() == f"{srv.pid}\n"
    text = log.read_text()
    assert "listening on" in text and "talky-stdout-at-import" in text and "talky-stderr-at-import" in text
    assert urllib.request.urlopen(srv.url + "/", timeout=5).read() == b"ok"

    # logrotate: rename, then SIGUSR1; the daemon writes to a new file at the path.
    rotated = log.with_name("error.log.1")
    log.rename(rotated)
    srv.send_signal(signal.SIGUSR1)
    poll(lambda: log.exists(), 5, what="a new error log")
    assert "reopening the access log and the error log" in rotated.read_text()
    srv.send_signal(signal.SIGHUP)  # a reload logs lines: they must go to the new file
    poll(lambda: "rolling reload" in log.read_text(), 10, what="the reload logged in the new file")
    assert "rolling reload" not in rotated.read_text()

    # A reopen that fails (the path is now a directory) keeps the old file and says so there.
    log.rename(tmp_path / "logs" / "error.log.2")
    log.mkdir()
    srv.send_signal(signal.SIGUSR1)
    old = tmp_path / "logs" / "error.log.2"
    poll(lambda: "cannot reopen error log" in old.read_text(), 5, what="the reopen warning")
    assert "still writing to the old file" in old.read_text()
    log.rmdir()
    srv.stderr_path = old
    assert srv.stop() == 0
    assert not pid.exists(), "the pid file outlived hearthd"


def test_limit_request_line_and_field_size_are_enforced(hearthd):
    import socket as so
    srv = hearthd("basic:app", "--limit-request-line", "100", "--limit-request-field_size", "200", workers=1)

    def status_of(raw):
        with so.create_connection(("127.0.0.1", srv.port), timeout=5) as c:
            c.sendall(raw)
            return int(c.recv(200).split(b" ", 2)[1])
    assert status_of(b"GET /p/" + b"a" * 50 + b" HTTP/1.1\r\nHost: x\r\n\r\n") == 200
    assert status_of(b"GET /p/" + b"a" * 120 + b" HTTP/1.1\r\nHost: x\r\n\r\n") == 414
    assert status_of(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"v" * 150 + b"\r\n\r\n") == 200
    assert status_of(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"v" * 250 + b"\r\n\r\n") == 431


def test_name_sets_the_process_names(hearthd):
    srv = hearthd("basic:app", "--name", "shop", workers=1)

    def comm(pid):
        return pathlib.Path(f"/proc/{pid}/comm").read_text().strip()
    assert comm(srv.pid) == "shop"
    assert comm(srv.zygote_pid()) == "shop:zygote"
    assert [comm(p) for p in srv.worker_pids().values()] == ["shop:worker"]
