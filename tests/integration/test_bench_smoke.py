"""bench/run.py --quick runs end to end and prints a table with real numbers."""
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
