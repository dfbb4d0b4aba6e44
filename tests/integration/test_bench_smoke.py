"""bench/run.py --quick runs end to end and prints a table with real numbers."""
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import HEARTHD, PYTHON, ROOT


def _have_gunicorn():
    return subprocess.run([PYTHON, "-c", "import gunicorn"], capture_output=True).returncode == 0


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk not installed (make deps-bench)")
@pytest.mark.skipif(not _have_gunicorn(), reason="gunicorn not installed (make deps-bench)")
@pytest.mark.skipif(not HEARTHD.exists(), reason="hearthd not built")
def test_bench_quick_prints_numbers():
    r = subprocess.run(
        [PYTHON, str(ROOT / "bench" / "run.py"), "--quick", "--only", "hearthd,gunicorn",
         "--duration", "1", "--warmup", "1"],
        capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "| stack | req/s |" in r.stdout, r.stdout
    for label in ("gunicorn sync", "**hearthd**"):
        row = next((l for l in r.stdout.splitlines() if l.startswith(f"| {label} |")), None)
        assert row is not None, f"no row for {label}:\n{r.stdout}"
        cells = [c.strip() for c in row.strip("|").split("|")]
        rps = float(cells[1].replace(",", ""))
        assert rps > 0, row
        assert re.fullmatch(r"[\d.,]+", cells[5]), f"p99 missing: {row}"      # p99 ms
        assert re.fullmatch(r"[\d.,]+", cells[10]), f"tree PSS missing: {row}"  # tree PSS MiB
    # Every process the bench started is gone: nothing is left listening from it.
    assert "still alive after stop" not in r.stderr, r.stderr[-2000:]
    sys.stdout.write(r.stdout)


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk not installed (make deps-bench)")
@pytest.mark.skipif(not HEARTHD.exists(), reason="hearthd not built")
def test_profile_prints_cpu_memory_and_idle_connection_figures():
    argv = [PYTHON, str(ROOT / "bench" / "profile.py"), "--duration", "1", "--idle", "100", "--no-instructions"]
    if shutil.which("strace") is None:
        argv.append("--no-strace")
    r = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    out = r.stdout
    row = next((l for l in out.splitlines() if l.startswith("| hearthd daemon |")), None)
    assert row is not None, out
    user, system = (float(c) for c in row.strip("|").split("|")[1:3])
    assert user + system > 0, row
    m = re.search(r"Idle daemon RSS by mapping .*total ([\d,]+) KiB", out)
    assert m and int(m.group(1).replace(",", "")) > 1024, out
    # The growth per connection may be below 0 with 100 connections: parked idle
    # connections (net/idle_parker.h) cost less than the RSS noise of a run.
    m = re.search(r"(\d[\d,]*) held open \((\d+) failed\).* (-?[\d,]+) B per connection", out)
    assert m and int(m.group(1).replace(",", "")) == 100 and m.group(2) == "0", out
    if "--no-strace" not in argv and "strace could not attach" not in out:
        m = re.search(r"\| \*\*total \(>= 0.05/req\)\*\* \| ([\d.]+) \|", out)
        assert m and float(m.group(1)) >= 2, out  # at least a read and a write per request
    assert "still alive after stopping" not in r.stderr, r.stderr[-2000:]


def _is_asan_build():
    if not HEARTHD.exists() or shutil.which("ldd") is None:
        return False
    r = subprocess.run(["ldd", str(HEARTHD)], capture_output=True, text=True)
    return "libasan" in r.stdout


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind not installed (make deps-bench)")
@pytest.mark.skipif(not HEARTHD.exists(), reason="hearthd not built")
@pytest.mark.skipif(_is_asan_build(), reason="valgrind cannot run an ASan build: .ci/run runs this test "
                                             "against the Release build-deb hearthd")
def test_profile_counts_instructions_per_request():
    # Smaller counts than make profile's 1,000 / 3,000: the method, not the figure, is tested.
    code = ("import sys; sys.path.insert(0, 'bench'); import instructions; "
            "instructions.measure(small=50, large=150, top=10)")
    r = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    m = re.search(r"\*\*([\d,]+) instructions per request\*\*", r.stdout)
    assert m, r.stdout
    per = int(m.group(1).replace(",", ""))
    # Parsing a request, building its environ and writing a response: thousands of
    # instructions, not tens and not millions (start-up costs cancel in the difference).
    assert 2000 < per < 200000, r.stdout
    rows = [l for l in r.stdout.splitlines() if re.match(r"\| [\d,]+ \| [\d.]+% \| `", l)]
    assert len(rows) >= 5, r.stdout
    assert "still alive" not in r.stdout + r.stderr


def _ws_load():
    return HEARTHD.parent / "hearth-ws-load"


@pytest.mark.skipif(not HEARTHD.exists(), reason="hearthd not built")
@pytest.mark.skipif(not _ws_load().exists(), reason="hearth-ws-load not built (cmake --build build)")
def test_bench_asgi_rows_print_numbers():
    # The WebSocket echo and first-event rows alone, against hearthd only: 1 s each. No doc is
    # written for ASGI rows alone.
    r = subprocess.run(
        [PYTHON, str(ROOT / "bench" / "run.py"), "--apps", "ws,sse", "--only", "hearthd",
         "--duration", "1", "--rounds", "1", "--warmup", "1"],
        capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    out = r.stdout
    assert "wrote " not in r.stderr, r.stderr[-2000:]
    rows = [l for l in out.splitlines() if l.startswith("| **hearthd** `--interface asgi` |")]
    assert len(rows) == 2, out
    ws = [c.strip() for c in rows[0].strip("|").split("|")]
    assert float(ws[1].replace(",", "")) > 0 and ws[7] == "0" and ws[10] == "64", rows[0]  # msg/s, errors, open
    sse = [c.strip() for c in rows[1].strip("|").split("|")]
    assert int(sse[1].replace(",", "")) >= 1 and float(sse[3]) >= 0 and sse[6] == "0", rows[1]
    assert re.search(r"\| WebSocket echo \(64 connections\) messages/s >= 1.0x uvicorn \| [\d,]+ \| - \|", out), out
    assert "still alive after stop" not in r.stderr, r.stderr[-2000:]


_HTTPS_ROW = r'''
import json, os, sys, tempfile, urllib.request
sys.path.insert(0, "bench")
import run, stacks
servers, seen = [], {}
tmp = tempfile.mkdtemp(prefix="hearth-https-row-")
os.makedirs(os.path.join(tmp, "www"))
with open(os.path.join(tmp, "www", "4k.bin"), "wb") as f:
    f.write(b"s" * 4096)
try:
    run._start_static_https(tmp, servers)
    for s in servers:
        with urllib.request.urlopen(s.url, timeout=10, context=stacks._unverified()) as r:
            seen[s.name] = {"status": r.status, "len": len(r.read()), "tls": s.tls, "url": s.url}
finally:
    for s in servers:
        left = s.stop()
        if left:
            print("still alive after stop", left, file=sys.stderr)
print(json.dumps(seen))
'''


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
@pytest.mark.skipif(not HEARTHD.exists(), reason="hearthd not built")
def test_bench_https_static_row_serves_the_file_over_tls13():
    # The plumbing of bench/run.py's HTTPS static row (issue 14): both fronts start with the
    # bench's certificate, serve the 4 KB file over https://, negotiate TLS 1.3, and are stopped.
    import json
    r = subprocess.run([PYTHON, "-c", _HTTPS_ROW], capture_output=True, text=True, timeout=90, cwd=ROOT,
                       env={**os.environ, "HEARTHD": str(HEARTHD)})
    assert r.returncode == 0, r.stderr[-2000:]
    assert "still alive after stop" not in r.stderr, r.stderr[-2000:]
    seen = json.loads(r.stdout.strip().splitlines()[-1])
    names = ["hearthd-static-https"] + (["nginx-static-https"] if shutil.which("nginx") else [])
    assert sorted(seen) == sorted(names), seen
    for name in names:
        assert seen[name]["url"].startswith("https://127.0.0.1:"), seen[name]
        assert seen[name]["status"] == 200 and seen[name]["len"] == 4096, seen[name]
        assert seen[name]["tls"].startswith("TLSv1.3 TLS_AES_"), seen[name]
