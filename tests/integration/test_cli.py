"""The command-line experience (issue 9): hearthd --version/--help, the start-up
lines that say where hearthd listens, hearthctl's help, errors, colour (tty,
NO_COLOR, --color) and JSON, and the bash/zsh completion scripts."""
import json
import os
import pty
import re
import select
import shutil
import subprocess
import time

import pytest

from conftest import HEARTHD, ROOT
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
    (["scale"], "usage: hearthctl scale N"),
    (["status", "now"], "'status' takes no arguments"),
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
