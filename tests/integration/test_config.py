"""`hearthd --check-config`: exit 0 for a valid file, 2 with FILE:LINE:COL errors."""
import re
import subprocess

import pytest

from conftest import HEARTHD, ROOT


def _check(path):
    if not HEARTHD.exists():
        pytest.skip(f"{HEARTHD} is missing: build it first (make build)")
    out = subprocess.run([str(HEARTHD), "--check-config", "-c", str(path)],
                         capture_output=True, text=True, timeout=20)
    return out.returncode, out.stdout + out.stderr


VALID = """\
app = "basic:app"
python = "/usr/bin/python3"
workers = 3
threads = 2
preload = false
bind = "127.0.0.1:0"
admin_bind = "127.0.0.1:0"
max_queue = 50
queue_timeout = "2s"
timeout = 30
graceful_timeout = "10s"
boot_timeout = "1m"
forwarded_allow_ips = ["127.0.0.1", "10.0.0.1"]
env = { A = "1" }

[http]
keepalive_timeout = "5s"
header_timeout = "300ms"
body_timeout = 30
send_timeout = "60s"
max_header_size = "16KiB"
max_headers = 64
max_body_size = "1MiB"
body_buffer_size = "64KiB"
response_buffer_size = "1MiB"
server_header = "hearth"

[log]
level = "debug"
access_log = "-"
access_log_format = "json"
"""


def test_valid_config_exits_0(tmp_path):
    p = tmp_path / "good.toml"
    p.write_text(VALID)
    rc, out = _check(p)
    assert rc == 0, out


def test_example_config_is_valid():
    rc, out = _check(ROOT / "examples" / "hello" / "hearth.toml")
    assert rc == 0, out


@pytest.mark.parametrize("text,line,key", [
    ('app = "a:b"\nworkers = 2\nwokers = 3\n', 3, "wokers"),
    ('app = "a:b"\n\n[http]\nkeepalive_timeout = "5s"\nheader_timeot = "1s"\n', 5,
     "header_timeot"),
    ('app = "a:b"\n[log]\nlevel = "info"\nformat = "json"\n', 4, "format"),
    ('app = "a:b"\n[htpt]\nmax_headers = 3\n', 2, "htpt"),
], ids=["top-level", "http", "log", "section"])
def test_unknown_key_exits_2_with_position(tmp_path, text, line, key):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    rc, out = _check(p)
    assert rc == 2, out
    assert re.search(rf"bad\.toml:{line}:\d+:", out), out
    assert key in out, out


@pytest.mark.parametrize("text,line", [
    ('app = "a:b"\nworkers = "lots"\n', 2),
    ('app = "a:b"\n[http]\nheader_timeout = "soon"\n', 3),
    ('app = "a:b"\n[http]\nmax_body_size = "12 parsecs"\n', 3),
    ('app = "a:b"\nbind = "127.0.0.1:99999"\n', 2),
    ('app = "a:b"\n[log]\nlevel = "loud"\n', 3),
], ids=["workers", "duration", "size", "bind", "level"])
def test_bad_value_exits_2_with_position(tmp_path, text, line):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    rc, out = _check(p)
    assert rc == 2, out
    assert re.search(rf"bad\.toml:{line}:\d+:", out), out


def test_every_error_is_reported(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text('app = "a:b"\nfoo = 1\n[http]\nbar = 2\n')
    rc, out = _check(p)
    assert rc == 2
    assert re.search(r"bad\.toml:2:\d+:", out) and re.search(r"bad\.toml:4:\d+:", out), out


def test_toml_syntax_error_exits_2(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text('app = "a:b"\nworkers = \n')
    rc, out = _check(p)
    assert rc == 2, out
    assert re.search(r"bad\.toml:2:\d+:", out), out


# --- issue 16: config that validated and then broke -----------------------------------

@pytest.mark.parametrize("text,line,message", [
    ('app = "a:b"\n[http]\nhttp2_initial_window_size = 2147483648\n', 3,
     "http.http2_initial_window_size: must be at most 2147483647"),
    ('app = "a:b"\n[http]\nmax_header_size = 0\n', 3, "http.max_header_size: must be at least 1024 bytes, got 0"),
    ('app = "a:b"\nmax_queue = 4294967296\n', 2, "max_queue: must be at most 4294967295"),
], ids=["h2-window", "header-size-0", "count-range"])
def test_out_of_range_values_exit_2_saying_the_bound(tmp_path, text, line, message):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    rc, out = _check(p)
    assert rc == 2, out
    assert re.search(rf"bad\.toml:{line}:\d+: " + re.escape(message), out), out
    assert "non-negative integer" not in out, out


def test_largest_h2_window_is_accepted(tmp_path):
    p = tmp_path / "ok.toml"
    p.write_text('app = "a:b"\n[http]\nhttp2_initial_window_size = 2147483647\n')
    rc, out = _check(p)
    assert rc == 0, out


def test_out_of_range_flag_says_the_bound():
    out = subprocess.run([str(HEARTHD), "basic:app", "--check-config", "--max-queue", "4294967296"],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 2, out.stderr
    assert "at most 4294967295" in out.stderr, out.stderr


def test_check_config_with_unknown_user_fails_like_a_real_start(tmp_path):
    """--check-config -u no-such-user said OK while a real start exited 2."""
    if not HEARTHD.exists():
        pytest.skip(f"{HEARTHD} is missing: build it first (make build)")
    args = [str(HEARTHD), "basic:app", "--python", "/usr/bin/python3", "-b", "127.0.0.1:0",
            "-u", "no-such-user-hearth16"]
    check = subprocess.run([*args, "--check-config"], capture_output=True, text=True, timeout=20, cwd=tmp_path)
    real = subprocess.run(args, capture_output=True, text=True, timeout=20, cwd=tmp_path,
                          stdin=subprocess.DEVNULL)
    assert real.returncode == 2, real.stderr
    assert check.returncode == 2, check.stderr
    msg = "user 'no-such-user-hearth16' does not exist"
    assert msg in real.stderr and msg in check.stderr, (real.stderr, check.stderr)
    assert "configuration OK" not in check.stderr
