"""The package's maintainer scripts (packaging/debian/postinst, prerm, postrm), run
for real on this machine with the systemd tools replaced by recording stubs:

* units are handled the way dh_installsystemd does it (deb-systemd-helper for
  enablement, deb-systemd-invoke to start/stop), never by `systemctl
  enable/start/stop/restart` directly;
* on an upgrade of a running service, postinst runs `hearthctl upgrade` against a
  real hearthd; when that fails (the new binary cannot start) the failure is shown,
  says the old daemon keeps serving, and the old daemon does.

Each script runs from a copy in which the fixed paths (/run/systemd/system, the
control socket, /usr/share/hearth/python) point into the test's temp dir.

    /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/packaging/test_debian_scripts.py
"""
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEBIAN = ROOT / "packaging" / "debian"
HEARTHD = pathlib.Path(os.environ.get("HEARTHD", ROOT / "build" / "bin" / "hearthd"))
HEARTHCTL = HEARTHD.parent / "hearthctl"
HELLO = ROOT / "examples" / "hello"

STUB = """#!/bin/sh
echo "{name} $*" >> "{log}"
{body}
exit 0
"""


class Env:
    """A temp dir with stubbed systemd tools on PATH and the scripts' fixed paths moved into it."""

    def __init__(self, tmp_path, systemd=True):
        self.dir = tmp_path
        self.log = tmp_path / "calls.log"
        self.log.write_text("")
        self.bin = tmp_path / "stubs"
        self.bin.mkdir()
        self.systemd_dir = tmp_path / "run-systemd-system"
        if systemd:
            self.systemd_dir.mkdir()
        self.sock = tmp_path / "hearthd.sock"
        self.runtime = tmp_path / "share-hearth-python"
        self.runtime.mkdir()
        (self.runtime / "m.py").write_text("X = 1\n")
        self.was_enabled = True
        self.active = False
        for name, body in {
            "deb-systemd-helper": 'if [ "$1" = "--quiet" ] && [ "$2" = "was-enabled" ]; then '
                                  '[ -e "{dir}/was-enabled" ] && exit 0; exit 1; fi',
            "deb-systemd-invoke": "",
            "systemctl": 'case "$*" in *is-active*) [ -e "{dir}/active" ] && exit 0; exit 3;; esac',
            "adduser": "",
        }.items():
            f = self.bin / name
            f.write_text(STUB.format(name=name, log=self.log, body=body.format(dir=tmp_path)))
            f.chmod(0o755)
        if HEARTHCTL.exists():
            (self.bin / "hearthctl").symlink_to(HEARTHCTL)

    def script(self, name):
        text = (DEBIAN / name).read_text()
        text = text.replace("/run/systemd/system", str(self.systemd_dir))
        text = text.replace("/run/hearth/hearthd.sock", str(self.sock))
        text = text.replace("/usr/share/hearth/python", str(self.runtime))
        f = self.dir / name
        f.write_text(text)
        f.chmod(0o755)
        return f

    def run(self, name, *args, timeout=120):
        (self.dir / "was-enabled").unlink(missing_ok=True)
        (self.dir / "active").unlink(missing_ok=True)
        if self.was_enabled:
            (self.dir / "was-enabled").touch()
        if self.active:
            (self.dir / "active").touch()
        self.log.write_text("")
        env = dict(os.environ, PATH=f"{self.bin}:/usr/sbin:/usr/bin:/sbin:/bin")
        r = subprocess.run(["/bin/sh", str(self.script(name)), *args], capture_output=True, text=True,
                           env=env, timeout=timeout)
        return r, self.log.read_text().splitlines()


def no_direct_systemctl_actions(calls):
    for c in calls:
        if c.startswith("systemctl "):
            assert c in ("systemctl --system daemon-reload", "systemctl --quiet is-active hearthd.service"), c


def test_scripts_are_posix_sh():
    for name in ("postinst", "prerm", "postrm"):
        r = subprocess.run(["/bin/sh", "-n", str(DEBIAN / name)], capture_output=True, text=True)
        assert r.returncode == 0, (name, r.stderr)
        assert os.access(DEBIAN / name, os.X_OK), f"{name} is not executable"
        assert "systemctl stop" not in (DEBIAN / name).read_text()
        assert ">/dev/null || true" not in "\n".join(
            line for line in (DEBIAN / name).read_text().splitlines() if "hearthctl" in line)


def test_first_install_enables_and_starts_through_the_helpers(tmp_path):
    env = Env(tmp_path)
    r, calls = env.run("postinst", "configure")
    assert r.returncode == 0, r.stderr
    for unit in ("hearthd.socket", "hearthd.service"):
        assert f"deb-systemd-helper unmask {unit}" in calls
        assert f"deb-systemd-helper enable {unit}" in calls
    assert "systemctl --system daemon-reload" in calls
    assert "deb-systemd-invoke start hearthd.socket hearthd.service" in calls
    assert "adduser --system --group --home /nonexistent --no-create-home --quiet hearth" in calls \
        or subprocess.run(["getent", "passwd", "hearth"], capture_output=True).returncode == 0
    assert not any(c.startswith("hearthctl") for c in calls)
    no_direct_systemctl_actions(calls)
    assert list(env.runtime.glob("__pycache__/m.*.pyc")), "the runtime was not byte-compiled"


def test_install_without_systemd_records_enablement_but_starts_nothing(tmp_path):
    env = Env(tmp_path, systemd=False)
    r, calls = env.run("postinst", "configure")
    assert r.returncode == 0, r.stderr
    assert "deb-systemd-helper enable hearthd.service" in calls
    assert not [c for c in calls if c.startswith(("systemctl", "deb-systemd-invoke"))], calls


def test_upgrade_keeps_an_admins_disable(tmp_path):
    env = Env(tmp_path)
    env.was_enabled = False
    r, calls = env.run("postinst", "configure", "0.0.9")
    assert r.returncode == 0, r.stderr
    assert "deb-systemd-helper update-state hearthd.service" in calls
    assert not [c for c in calls if " enable " in f" {c} "], calls
    # An upgrade never starts a stopped service (and this one is not active).
    assert not [c for c in calls if c.startswith("deb-systemd-invoke")], calls
    no_direct_systemctl_actions(calls)


def test_prerm_and_postrm(tmp_path):
    env = Env(tmp_path)
    r, calls = env.run("prerm", "upgrade", "0.2.0")
    assert r.returncode == 0 and not [c for c in calls if "stop" in c], calls  # postinst upgrades in place
    r, calls = env.run("prerm", "remove")
    assert r.returncode == 0 and "deb-systemd-invoke stop hearthd.service hearthd.socket" in calls, calls
    r, calls = env.run("postrm", "remove")
    assert r.returncode == 0, r.stderr
    assert "deb-systemd-helper mask hearthd.service" in calls and "systemctl --system daemon-reload" in calls
    r, calls = env.run("postrm", "purge")
    assert r.returncode == 0, r.stderr
    for unit in ("hearthd.socket", "hearthd.service"):
        assert f"deb-systemd-helper purge {unit}" in calls and f"deb-systemd-helper unmask {unit}" in calls
    no_direct_systemctl_actions(calls)


# --- postinst's `hearthctl upgrade` against a real hearthd -------------------------------

def _status(sock):
    r = subprocess.run([str(HEARTHCTL), "--socket", str(sock), "--json", "status"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1].startswith("Z")
    except FileNotFoundError:
        return True


def _stop(pid, deadline=20):
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    end = time.monotonic() + deadline
    while time.monotonic() < end and not _gone(pid):
        time.sleep(0.05)
    if not _gone(pid):
        os.kill(pid, signal.SIGKILL)


@pytest.fixture
def running(tmp_path):
    """A hearthd run from a copy of the binary (which the test then replaces, as dpkg
    does), serving the example app with its control socket where postinst looks."""
    if not HEARTHD.exists() or not HEARTHCTL.exists():
        pytest.skip(f"{HEARTHD} missing: build first")
    env = Env(tmp_path)
    env.active = True
    exe = tmp_path / "bin" / "hearthd"
    exe.parent.mkdir()
    shutil.copy2(HEARTHD, exe)
    log = tmp_path / "hearthd.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen([str(exe), "-c", str(HELLO / "hearth.toml"), "--chdir", str(HELLO),
                                 "-w", "1", "-b", "127.0.0.1:0", "--admin-bind", "127.0.0.1:0",
                                 "--control-socket", str(env.sock)],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
    pids = [proc.pid]
    try:
        end = time.monotonic() + 30
        while time.monotonic() < end:
            assert proc.poll() is None, log.read_text()
            if env.sock.exists() and _status(env.sock).get("ready_workers") == 1:
                break
            time.sleep(0.1)
        assert _status(env.sock)["ready_workers"] == 1, log.read_text()
        yield env, exe, proc, pids
    finally:
        for pid in pids:
            _stop(pid)
        proc.wait(5)


def _serves(env):
    st = _status(env.sock)
    return st["pid"], st["ready_workers"]


def test_postinst_reports_a_failed_upgrade_and_the_old_daemon_keeps_serving(running):
    env, exe, proc, pids = running
    exe.unlink()
    exe.write_text("#!/bin/sh\necho 'broken build' >&2\nexit 2\n")
    exe.chmod(0o755)
    r, calls = env.run("postinst", "configure", "0.0.9")
    assert r.returncode == 0, r.stderr  # the package is configured; the failure is reported
    assert "hearthctl upgrade failed" in r.stderr and "exited before it was ready" in r.stderr, r.stderr
    assert "the old hearthd keeps serving" in r.stderr, r.stderr
    assert _serves(env) == (proc.pid, 1)
    assert proc.poll() is None
    no_direct_systemctl_actions(calls)
    assert not [c for c in calls if c.startswith("deb-systemd-invoke")], calls


def test_postinst_upgrades_a_running_daemon_in_place(running):
    env, exe, proc, pids = running
    r, calls = env.run("postinst", "configure", "0.0.9")
    assert r.returncode == 0, r.stderr
    m = re.search(r"pid (\d+) serves now", r.stdout)
    assert m, (r.stdout, r.stderr)
    new_pid = int(m.group(1))
    pids.append(new_pid)
    assert new_pid != proc.pid
    assert proc.wait(30) == 0  # the old one drained and exited
    assert _serves(env) == (new_pid, 1)
    assert not [c for c in calls if c.startswith("deb-systemd-invoke")], calls
