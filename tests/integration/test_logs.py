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


def _raw_get(port, request: bytes):
    import socket
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return data


def test_json_access_log_writes_utf8_as_utf8_and_escapes_invalid_bytes(hearthd, tmp_path):
    # Issue 20: "é" in a path or header was written as \u00c3\u00a9. Now well-formed
    # UTF-8 is written as is; a byte that is not UTF-8 becomes \u00XX (docs/metrics.md);
    # every line is valid JSON and valid UTF-8.
    import json
    access_log = tmp_path / "access.log"
    srv = hearthd("basic:app", "--access-logfile", access_log, "--access-log-format", "json", workers=1)
    head = _raw_get(srv.port, b"GET /p/caf\xc3\xa9?q=\xe2\x82\xac HTTP/1.1\r\nHost: x\r\n"
                              b"User-Agent: na\xc3\xafve/1.0 \xf0\x9f\x98\x80\r\n"
                              b"Referer: http://x/latin1-\xe9-trunc-\xc3\r\nConnection: close\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head[:200]
    poll(lambda: b"/p/caf" in access_log.read_bytes(), 5, what="the access log line")
    raw = next(line for line in access_log.read_bytes().splitlines() if b"/p/caf" in line)
    assert b"/p/caf\xc3\xa9?q=\xe2\x82\xac" in raw and b"\\u00c3" not in raw.split(b'"referer"')[0]
    entry = json.loads(raw.decode("utf-8"))  # raises if not UTF-8 or not JSON
    assert entry["target"] == "/p/café?q=€"
    assert entry["user_agent"] == "naïve/1.0 \U0001F600"
    assert b"latin1-\\u00e9-trunc-\\u00c3" in raw
    assert entry["referer"] == "http://x/latin1-\u00e9-trunc-\u00c3"
