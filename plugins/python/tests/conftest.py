import os
import pathlib

import pytest

# The C accelerator of the build under test (HEARTHD's build, else build/): the zygotes the
# fake daemon starts find it through HEARTH_SPEEDUPS_DIR (speedups.py). With
# HEARTH_NO_SPEEDUPS=1 the suite runs on the pure-Python runtime instead.
_ROOT = pathlib.Path(__file__).resolve().parents[3]
_HEARTHD = os.environ.get("HEARTHD")
_BUILD = pathlib.Path(_HEARTHD).resolve().parent.parent if _HEARTHD else _ROOT / "build"
os.environ.setdefault("HEARTH_SPEEDUPS_DIR", str(_BUILD / "python-speedups"))

import fakedaemon  # noqa: E402


def pytest_configure(config):
    # Like hearthd: double-forked workers are reparented to us, so we can reap them.
    fakedaemon.become_subreaper()


@pytest.fixture
def make_daemon(tmp_path):
    """Factory for FakeDaemons; every process they start is killed and reaped afterwards."""
    made = []

    def make(**kw):
        d = fakedaemon.FakeDaemon(tmp_path, **kw)
        made.append(d)
        return d

    yield make
    for d in made:
        d.close()


@pytest.fixture(params=["raw", "validated"])
def mode(request):
    """Every app runs both as is and wrapped in wsgiref.validate.validator (warnings = errors)."""
    return request.param


@pytest.fixture
def daemon(make_daemon, mode):
    d = make_daemon(validate=(mode == "validated"))
    d.start()
    yield d
    text = d.stderr()
    assert "WSGIWarning" not in text, text
    assert "Exception ignored" not in text, text


@pytest.fixture
def worker(daemon):
    return daemon.fork(1)
