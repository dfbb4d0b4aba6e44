"""Worker-death test app (issue 16): the worker SIGKILLs itself at a chosen step of the
exchange, once per marker file, so the retry (or the next request) is served normally.

  /                          "ok pid=P\n" (a list: START, BODY and END in one write)
  /gen                       the same from a generator, with Content-Length (as Flask and
                             Django answer: BODY and END are separate writes)
  /freeze                    answers "frozen pid=P\n", then SIGSTOPs its own process 0.2 s
                             later: requests sent to it afterwards stay unread in its socket
                             (the test SIGKILLs it: "died before reading the request")
  /die?step=S&marker=F       if F exists: "survived pid=P\n" (and for POST the body length).
                             Otherwise creates F and dies (SIGKILL to itself) at step S:
      app      after the request was read, before anything is written
      exit     the same with os._exit(9)
      body     after reading 1 KiB of a (large) request body
      start    after RESPONSE_START and the first body chunk went out (no length)
      mid      after 3 of 4 declared body chunks of 64 KiB went out (Content-Length)
      end      after the whole declared body went out, before RESPONSE_END
"""
import os
import signal
import threading
import time
from urllib.parse import parse_qs


def _die(how="kill"):
    if how == "exit":
        os._exit(9)
    os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(10)  # never reached: SIGKILL is delivered at once


def _text(start_response, body):
    body = body.encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def _read_all(environ):
    inp = environ["wsgi.input"]
    n = 0
    while True:
        b = inp.read(65536)
        if not b:
            return n
        n += len(b)


CHUNK = 65536


def _stream_then_die(chunks):
    for _ in range(chunks):
        yield b"x" * CHUNK
    _die()


def app(environ, start_response):
    path = environ.get("PATH_INFO") or "/"
    qs = parse_qs(environ.get("QUERY_STRING", ""))
    pid = os.getpid()
    if path == "/":
        return _text(start_response, f"ok pid={pid}\n")
    if path == "/gen":
        body = f"ok pid={pid}\n".encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return (b for b in (body,))
    if path == "/freeze":
        def stop_later():
            time.sleep(0.2)
            os.kill(pid, signal.SIGSTOP)
        threading.Thread(target=stop_later, daemon=True).start()
        return _text(start_response, f"frozen pid={pid}\n")
    if path == "/die":
        step = qs["step"][0]
        marker = qs["marker"][0]
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            n = _read_all(environ)
            return _text(start_response, f"survived pid={pid} body={n}\n")
        os.close(fd)
        if step in ("app", "exit"):
            _die("exit" if step == "exit" else "kill")
        if step == "body":
            environ["wsgi.input"].read(1024)
            _die()
        if step == "start":
            start_response("200 OK", [("Content-Type", "application/octet-stream")])
            return _stream_then_die(1)
        if step in ("mid", "end"):
            start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                      ("Content-Length", str(4 * CHUNK))])
            return _stream_then_die(3 if step == "mid" else 4)
        raise ValueError(f"unknown step {step!r}")
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found\n"]
