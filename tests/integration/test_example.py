"""The bundled example (examples/hello) served the way the README says."""
import hhttp
from conftest import ROOT

HELLO = ROOT / "examples" / "hello"


def test_example_hello_app(hearthd):
    # The toml gives app, workers = 2 and admin_bind; the CLI overrides the binds.
    srv = hearthd(None, "-c", HELLO / "hearth.toml", chdir=HELLO, workers=None,
                  ready_workers=2)
    r = hhttp.get(srv.port, "/")
    assert r.status == 200
    assert r.body.startswith(b"Hello from Hearth!\n")
    assert b"server: hearth/" in r.body
    assert hhttp.get(srv.port, "/health").body == b"ok\n"
    assert hhttp.get(srv.port, "/nope").status == 404
    assert len(srv.worker_pids()) == 2
    assert srv.stop() == 0
