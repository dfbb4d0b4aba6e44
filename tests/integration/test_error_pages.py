"""[[error_page]]: the daemon's own error answers (413, 429, 502 worker died, 503 queue
full, 504 timeout) carry the configured file's body and content type, over HTTP/1.1 and
HTTP/2; the app's own error responses never do; the files are read again on reload."""
import os
import shutil
import signal
import subprocess

import pytest

import hhttp
from conftest import poll

PAGE = "<!doctype html><h1>Back soon</h1>\n"


@pytest.fixture
def pages(tmp_path):
    (tmp_path / "50x.html").write_text(PAGE)
    (tmp_path / "413.json").write_text('{"error": "too large"}')
    return tmp_path


def config(pages, extra=""):
    return (f'timeout = "1s"\nretry_methods = []\nmax_queue = 1\nqueue_timeout = "10s"\n{extra}'
            f'[http]\nmax_body_size = 1000\n'
            f'[[error_page]]\nstatus = [502, 503, 504]\nfile = "{pages}/50x.html"\n'
            f'[[error_page]]\nstatus = [413, 429]\nfile = "{pages}/413.json"\n'
            f'[[rate_limit]]\nprefix = "/p/"\nrate = "1/m"\n')


def test_daemon_answers_carry_the_page(hearthd, pages):
    srv = hearthd("basic:app", workers=1, toml=config(pages))
    # 504: the worker takes longer than `timeout`.
    r = hhttp.get(srv.port, "/sleep?ms=3000")
    assert r.status == 504
    assert r.body.decode() == PAGE
    assert r.header("Content-Type") == "text/html; charset=utf-8"
    assert int(r.header("Content-Length")) == len(PAGE)
    # 502: the worker died mid-request (retry_methods = [] : no second try).
    srv.wait_ready(workers=1)
    r = hhttp.get(srv.port, "/crash")
    assert r.status == 502
    assert r.body.decode() == PAGE
    # 413 from the front door itself, with the JSON page.
    poll(lambda: hhttp.get(srv.port, "/").status == 200, 20, what="a worker again")
    r = hhttp.fetch(srv.port, "POST", "/echo", body=b"x" * 5000)
    assert r.status == 413
    assert r.header("Content-Type") == "application/json"
    assert r.body == b'{"error": "too large"}'
    # 429 from a [[rate_limit]]: the page, and Retry-After kept.
    assert hhttp.get(srv.port, "/p/a").status == 200
    r = hhttp.get(srv.port, "/p/a")
    assert r.status == 429
    assert r.body == b'{"error": "too large"}'
    assert r.header("Retry-After")


def test_queue_full_503_has_the_page(hearthd, pages, tmp_path):
    srv = hearthd("basic:app", workers=1, toml=config(pages).replace('timeout = "1s"', 'timeout = "30s"'))
    started, release = tmp_path / "started", tmp_path / "release"
    busy = hhttp.Conn(srv.port)
    queued = hhttp.Conn(srv.port)
    try:
        busy.send(hhttp.request("GET", f"/block?started={started}&release={release}&max=20"))
        poll(started.exists, 10, what="the worker to be busy")
        queued.send(hhttp.request("GET", "/"))  # waits in the queue (max_queue = 1)
        poll(lambda: 'hearth_queue_length{app="app"} 1' in hhttp.get(int(srv.admin_url.rsplit(":", 1)[1]), "/metrics").body.decode(),
             10, what="one queued request")
        r = hhttp.get(srv.port, "/")  # the queue is full
        assert r.status == 503
        assert r.body.decode() == PAGE
        release.write_text("go")
        assert busy.read_response().status == 200
        assert queued.read_response().status == 200
    finally:
        busy.close()
        queued.close()


def test_app_errors_are_never_replaced(hearthd, pages):
    srv = hearthd("basic:app", workers=1, toml=config(pages))
    for code in (502, 503, 504, 413):
        r = hhttp.get(srv.port, f"/status?code={code}")
        assert r.status == code
        assert r.body == b"", (code, r.body)


def test_http2_gets_the_page(hearthd, pages):
    curl = shutil.which("curl")
    if not curl:
        pytest.skip("curl is not installed")
    srv = hearthd("basic:app", workers=1, toml=config(pages))
    r = subprocess.run([curl, "-s", "--http2-prior-knowledge", "-D", "-", f"http://127.0.0.1:{srv.port}/sleep?ms=3000"],
                       capture_output=True, timeout=30)
    out = r.stdout.decode()
    assert out.startswith("HTTP/2 504"), out
    assert "content-type: text/html; charset=utf-8" in out.lower()
    assert out.endswith(PAGE)
    r = subprocess.run([curl, "-s", "--http2-prior-knowledge", "-D", "-", "--data-binary", "@-",
                        f"http://127.0.0.1:{srv.port}/echo"], input=b"y" * 5000, capture_output=True, timeout=30)
    out = r.stdout.decode()
    assert out.startswith("HTTP/2 413"), out
    assert out.endswith('{"error": "too large"}')


def test_pages_are_read_again_on_reload(hearthd, pages):
    srv = hearthd("basic:app", workers=1, toml=config(pages))
    (pages / "50x.html").write_text("<h1>new page</h1>")
    srv.send_signal(signal.SIGHUP)
    srv.wait_log(r"error pages reloaded: 2 file\(s\)")
    poll(lambda: hhttp.get(srv.port, "/").status == 200, 30, what="the reloaded workers")
    r = hhttp.get(srv.port, "/sleep?ms=3000")
    assert r.status == 504
    assert r.body == b"<h1>new page</h1>"
    # A page that disappears keeps the previous one, with an error in the log.
    os.unlink(pages / "50x.html")
    srv.send_signal(signal.SIGHUP)
    srv.wait_log(r"error pages not reloaded, still serving the previous ones: error_page\[0\]\.file: cannot read")
    poll(lambda: hhttp.get(srv.port, "/").status == 200, 30, what="the reloaded workers")
    r = hhttp.get(srv.port, "/sleep?ms=3000")
    assert r.body == b"<h1>new page</h1>"


def test_missing_page_stops_start_up(hearthd, pages):
    srv = hearthd("basic:app", workers=1, wait=False,
                  toml=f'[[error_page]]\nstatus = 503\nfile = "{pages}/nope.html"\n')
    assert srv.wait_exit(20) == 2
    assert f"error_page[0].file: cannot use '{pages}/nope.html': No such file or directory" in srv.log()
