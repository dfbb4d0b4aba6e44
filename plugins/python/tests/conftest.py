import pytest

import fakedaemon


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
