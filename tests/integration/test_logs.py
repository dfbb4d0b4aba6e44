"""Logs on a small box (issue 15): the packaged logrotate file rotates the access
log and the error log of a running hearthd, which reopens both on SIGUSR1."""
import signal
import shutil
import subprocess
import urllib.request

import pytest

from conftest import ROOT, poll

LOGROTATE = ROOT / "packaging" / "logrotate" / "hearth"


def test_packaged_logrotate_file_matches_the_unit():
    text = LOGROTATE.read_text()
    unit = (ROOT / "packaging" / "systemd" / "hearthd.service").read_text()
    assert "LogsDirectory=hearth" in unit and "User=hearth" in unit
    assert "/var/log/hearth/*.log {" in text
    assert "su hearth hearth" in text and "create 0640 hearth hearth" in text
    assert "systemctl kill --signal=USR1 --kill-whom=main hearthd.service" in text
    # Installed by the Debian package.
    assert "install(FILES packaging/logrotate/hearth DESTINATION /etc/logrotate.d)" in \
        (ROOT / "CMakeLists.txt").read_text()


@pytest.mark.skipif(shutil.which("logrotate") is None, reason="logrotate is not installed")
def test_logrotate_rotates_both_logs_of_a_running_hearthd(hearthd, tmp_path):
    logs = tmp_path / "log"
    logs.mkdir()
    pid = tmp_path / "hearthd.pid"
    # The packaged file, pointed at this test's directories; no systemd here, so the
    # postrotate script takes its pid-file branch.
    conf = (LOGROTATE.read_text()
            .replace("/var/log/hearth", str(logs))
            .replace("/run/hearth/hearthd.pid", str(pid))
            .replace("su hearth hearth", "su root root")
            .replace("create 0640 hearth hearth", "create 0640 root root")
            .replace("systemctl is-active --quiet hearthd.service", "false"))
    (tmp_path / "lr.conf").write_text(conf)
    error_log, access_log = logs / "error.log", logs / "access.log"
    srv = hearthd("basic:app", "--error-logfile", error_log, "--access-logfile", access_log, "--pid", pid,
                  workers=1, wait=False)
    srv.stderr_path = error_log
    srv.wait_ready(20)
    url = srv.url  # read from the log before it rotates
    urllib.request.urlopen(url + "/p/before", timeout=5).read()
    poll(lambda: "/p/before" in access_log.read_text(), 5, what="the access log line")

    r = subprocess.run(["logrotate", "-f", "-s", str(tmp_path / "state"), str(tmp_path / "lr.conf")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (logs / "error.log.1").exists() and (logs / "access.log.1").exists(), list(logs.iterdir())
    assert "SIGUSR1: reopening the access log and the error log" in (logs / "error.log.1").read_text()

    urllib.request.urlopen(url + "/p/after", timeout=5).read()
    poll(lambda: "/p/after" in access_log.read_text(), 5, what="the access log line in the new file")
    assert "/p/after" not in (logs / "access.log.1").read_text()
    srv.send_signal(signal.SIGHUP)
    poll(lambda: "rolling reload" in error_log.read_text(), 10, what="the daemon's lines in the new error log")
    assert srv.stop() == 0
    assert not pid.exists()
