"""One worker process: T slot sockets, one thread each, serving WSGI requests.

Life of a worker (docs/worker-protocol.md):
  forked by the zygote -> post_fork hook -> (lazy: import app) -> WORKER_READY on slot 0
  -> serving
  -> SIGTERM: worker_exit hook and exit at once when idle, else after the request(s) in flight
  -> EOF on the death pipe or a slot socket: os._exit(0) immediately (no worker_exit).
"""

import faulthandler
import os
import signal
import sys
import threading
import time
import traceback

from . import loader
from .hooks import Hooks
from .conn import SlotClosed, SlotConn
from .lifeline import EXIT_APP_LOAD, EXIT_INTERNAL, EXIT_OK, watch_death_pipe
from .lifeline import exit_now as _exit
from .protocol import (
    CLIENT_GONE, FLAG_ABORTED, FLAG_STREAM, HEADER, MAX_PAYLOAD, REQUEST, RESPONSE_BODY,
    RESPONSE_END, WORKER_FAILED, WORKER_READY, json_frame, text_frame)
from .speedups import SPEEDUPS
from .wsgi import ErrorStream, FileWrapper, Input, encode_start, no_body_expected

_decode = SPEEDUPS.decode_environ if SPEEDUPS is not None else None

_END = HEADER.pack(RESPONSE_END, 0, 0, 0, 0)
_END_ABORTED = HEADER.pack(RESPONSE_END, FLAG_ABORTED, 0, 0, 0)
_BODY_PACK = HEADER.pack
_500_BODY = b"Internal Server Error\n"
_500 = b"".join((
    encode_start("500 Internal Server Error", [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(_500_BODY)))])[0],
    HEADER.pack(RESPONSE_BODY, 0, 0, len(_500_BODY), 0), _500_BODY, _END))
# Bodies below this are joined with START and END and go out in one sendall (one
# copy, one syscall); larger ones in one sendmsg of the pieces, without the copy.
_JOIN_MAX = 16 * 1024
# Lists/tuples up to this many items are joined and sent in one go.
_FAST_ITEMS = 8
# file_wrapper bodies are read in blocks of at least this size.
_FILE_BLOCK = 256 * 1024


class Slot(SlotConn):
    """One slot socket and the state of the request on it. Used by exactly one thread."""

    __slots__ = (
        "worker", "index", "app", "base_environ", "errors", "environ", "busy", "body",
        "start", "code", "remaining", "sent", "held", "start_response", "write")

    def __init__(self, worker, index, sock, app):
        SlotConn.__init__(self, sock)
        self.worker = worker
        self.index = index
        self.app = app
        self.errors = ErrorStream(self)
        self.base_environ = {
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.errors": self.errors,
            "wsgi.multithread": worker.threads > 1,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "wsgi.file_wrapper": FileWrapper,
            "wsgi.input_terminated": True,
        }
        self.environ = None
        self.busy = False
        self.body = None       # the request's Input (the app's environ may be wrapped)
        self.start = None      # encoded RESPONSE_START frame, set by start_response()
        self.code = 0
        self.remaining = None  # body bytes Content-Length still allows, None = no limit
        self.sent = False      # RESPONSE_START has gone out
        self.held = None       # the chunk that completed Content-Length, not sent yet (handle())
        # Bound once: no per-request allocation of these.
        self.start_response = self._start_response
        self.write = self._write

    def log_prefix(self):
        env = self.environ
        rid = env.get("hearth.request_id", "-") if env is not None else "-"
        return "[worker %s req %s] " % (self.worker.worker_id, rid)

    def log(self, text):
        prefix = self.log_prefix()
        sys.stderr.write("".join([prefix + line + "\n" for line in text.rstrip("\n").split("\n")]))

    # -- PEP 3333 callables ------------------------------------------------------------

    def _start_response(self, status, headers, exc_info=None):
        if exc_info is not None:
            try:
                if self.sent or self.held is not None:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.start is not None:
            raise AssertionError("start_response() called twice without exc_info")
        self.start, self.code, cl = encode_start(status, headers)
        if cl is not None and not no_body_expected(self.environ.get("REQUEST_METHOD"), self.code):
            self.remaining = cl
        else:
            self.remaining = None
        return self.write

    def _write(self, data):
        if self.start is None:
            raise AssertionError("write() called before start_response()")
        if type(data) is not bytes:
            raise TypeError("write() takes bytes, not %s" % type(data).__name__)
        if data:
            self._send_body(data)

    def _send_body(self, chunk):
        rem = self.remaining
        if rem is not None:
            if len(chunk) > rem:
                chunk = chunk[:rem]
            self.remaining = rem - len(chunk)
            if not chunk:
                return
        n = len(chunk)
        if not self.sent:
            if self.start is None:
                raise AssertionError("the app produced body bytes before calling start_response()")
            self.sent = True
            if n < _JOIN_MAX:
                self.sendall(b"".join((self.start, _BODY_PACK(RESPONSE_BODY, 0, 0, n, 0), chunk)))
            else:
                self.sendmsg_all([self.start + _BODY_PACK(RESPONSE_BODY, 0, 0, n, 0), chunk])
        elif n < _JOIN_MAX:
            self.sendall(_BODY_PACK(RESPONSE_BODY, 0, 0, n, 0) + chunk)
        else:
            self.sendmsg_all([_BODY_PACK(RESPONSE_BODY, 0, 0, n, 0), chunk])

    def _send_last(self, chunk):
        """The chunk that completes Content-Length and RESPONSE_END in one system call (what
        ``_send_body(chunk)`` then ``_finish()`` send): joined below ``_JOIN_MAX``, else one
        sendmsg of the pieces."""
        rem = self.remaining
        if len(chunk) > rem:
            chunk = chunk[:rem]
        n = len(chunk)
        self.remaining = 0
        head = _BODY_PACK(RESPONSE_BODY, 0, 0, n, 0)
        if not self.sent:
            self.sent = True
            head = self.start + head
        if n < _JOIN_MAX:
            self.sendall(b"".join((head, chunk, _END)))
        else:
            self.sendmsg_all([head, chunk, _END])

    def _client_gone(self):
        """A streamed response's client went away (CLIENT_GONE). Looked for only once the
        request body was read whole: until then the frame sits behind the body bytes."""
        if self.body._remaining:
            return False
        return self.client_gone()

    def _finish(self):
        """RESPONSE_END (with START first for an empty body). ABORTED if the body was short."""
        if not self.sent:
            if self.start is None:
                raise AssertionError("the app returned without calling start_response()")
            self.sent = True
            if self.remaining:
                self.log("Content-Length declared %d more bytes than the app produced" % self.remaining)
                self.sendall(self.start + _END_ABORTED)
            else:
                self.sendall(self.start + _END)
        elif self.remaining:
            self.log("Content-Length declared %d more bytes than the app produced" % self.remaining)
            self.sendall(_END_ABORTED)
        else:
            self.sendall(_END)

    # -- the loop ----------------------------------------------------------------------

    def serve(self):
        """Serve requests until SlotClosed (returns) or a graceful stop (exits)."""
        worker = self.worker
        unpack_from = HEADER.unpack_from
        base = self.base_environ
        while True:
            self.busy = False
            if worker.stopping:
                worker.idle_after_stop(self)
            if self.pos == self.end:
                self.reset_if_idle()
            if self.end - self.pos < 16:
                self.fill(16)
            self.busy = True
            ftype, _flags, _res, length, body_len = unpack_from(self.buf, self.pos)
            if ftype != REQUEST or length > MAX_PAYLOAD:
                if ftype == CLIENT_GONE and not length:
                    # It crossed our RESPONSE_END (or the response did not stream): stale.
                    self.pos += 16
                    continue
                self.log("protocol error: frame type 0x%02x, length %d on slot %d; exiting"
                         % (ftype, length, self.index))
                _exit(EXIT_INTERNAL)
            self.pos += 16
            if self.end - self.pos < length:
                self.fill(length)
            pos = self.pos
            if (not body_len and self.end - pos - length >= 16
                    and self.buf[pos + length] == CLIENT_GONE):
                # Its client left, or the daemon took it back (a request queued ahead,
                # answered elsewhere) before we started it: skip it. A bare END is its
                # valid end after CLIENT_GONE (docs/worker-protocol.md).
                self.pos = pos + length + 16
                self.sendall(_END)
                continue
            if _decode is not None:  # the C accelerator
                environ = _decode(self.view, pos, length, base)
            else:  # protocol.decode_environ_py, inlined: a call less per request
                it = iter(str(self.view[pos:pos + length], "latin-1").split("\0"))
                environ = base.copy()
                environ.update(zip(it, it))
            self.pos = pos + length
            body = Input(self, body_len)
            environ["wsgi.input"] = body
            self.environ = environ
            self.body = body
            self.handle(environ)
            if self.owed_ends:  # requests taken back while this one streamed (poll_client_gone)
                self.sendall(_END * self.owed_ends)
                self.owed_ends = 0
            body.drain()
            if self.errors._partial:
                self.errors.flush()
            self.environ = self.body = None

    def handle(self, environ):
        self.start = None
        self.held = None
        self.sent = False
        self.remaining = None
        result = None
        try:
            result = self.app(environ, self.start_response)
            rtype = type(result)
            if ((rtype is list or rtype is tuple) and len(result) <= _FAST_ITEMS
                    and self.start is not None and not self.sent):
                # The common case: a list of one (or a few) bytes items, START + BODY + END
                # in one sendall.
                if len(result) == 1:
                    body = result[0]
                    if type(body) is not bytes:
                        raise TypeError("response body items must be bytes, not %s" % type(body).__name__)
                else:
                    for item in result:
                        if type(item) is not bytes:
                            raise TypeError("response body items must be bytes, not %s" % type(item).__name__)
                    body = b"".join(result)
                rem = self.remaining
                n = len(body)
                if rem is not None and n != rem:
                    if n > rem:
                        body = body[:rem]
                        n = rem
                        self.remaining = 0
                    else:
                        self._send_body(body)
                        self._finish()
                        return
                self.sent = True
                if not n:
                    self.sendall(self.start + _END)
                elif n < _JOIN_MAX:
                    self.sendall(b"".join((self.start, _BODY_PACK(RESPONSE_BODY, 0, 0, n, 0), body, _END)))
                else:
                    self.sendmsg_all([self.start + _BODY_PACK(RESPONSE_BODY, 0, 0, n, 0), body, _END])
                return
            if type(result) is FileWrapper:
                read = result.filelike.read
                size = max(result.blksize, _FILE_BLOCK)
                while True:
                    chunk = read(size)
                    if not chunk:
                        break
                    if type(chunk) is not bytes:
                        raise TypeError("file_wrapper read() returned %s, not bytes" % type(chunk).__name__)
                    self._send_body(chunk)
            else:
                for chunk in result:
                    if type(chunk) is not bytes:
                        raise TypeError("response body items must be bytes, not %s" % type(chunk).__name__)
                    held = self.held
                    if held is not None:  # more items after the whole body: send it now
                        self.held = None
                        self._send_body(held)
                    if chunk:
                        start = self.start
                        if start is not None and start[1] & FLAG_STREAM:
                            if self._client_gone():
                                # A stream whose client left: stop iterating; close() below
                                # tells the app (GeneratorExit in a generator).
                                self.sendall(_END if self.sent else start + _END)
                                self.sent = True
                                return
                        elif 0 < (self.remaining or 0) <= len(chunk):
                            # This chunk completes Content-Length: hold it until the iterable
                            # ends (Werkzeug's ClosingIterator, so every Flask response: one
                            # more next()), so that it and RESPONSE_END go out in one sendall.
                            self.held = chunk
                            continue
                        self._send_body(chunk)
                held = self.held
                if held is not None:
                    self.held = None
                    self._send_last(held)
                    return
            self._finish()
        except SlotClosed:
            raise
        except BaseException:
            self.log("Error handling request %s %s\n%s" % (
                environ.get("REQUEST_METHOD", "?"), environ.get("RAW_URI", environ.get("PATH_INFO", "?")),
                traceback.format_exc()))
            held = self.held
            if held is not None:  # it would have been sent before the failure: send it first
                self.held = None
                self._send_body(held)
            if self.sent:
                self.sendall(_END_ABORTED)
            else:
                self.sent = True
                self.sendall(_500)
        finally:
            if result is not None:
                close = getattr(result, "close", None)
                if close is not None:
                    try:
                        close()
                    except SlotClosed:
                        raise
                    except BaseException:
                        self.log("Error in close() of the response iterable\n" + traceback.format_exc())


class Worker:
    """The worker process after the fork. ``run()`` never returns."""

    def __init__(self, worker_id, slot_socks, death_fd, app=None, app_spec=None, fork_time=None,
                 hooks=None, interface="wsgi", lifespan="auto"):
        self.worker_id = worker_id
        self.threads = len(slot_socks)
        self.socks = slot_socks
        self.death_fd = death_fd
        self.app = app
        self.app_spec = app_spec
        self.fork_time = time.monotonic() if fork_time is None else fork_time
        self.hooks = hooks if hooks is not None else Hooks()
        self.interface = interface  # "wsgi", "asgi", or "auto" when the zygote did not load the app
        self.lifespan = lifespan
        self.slots = []
        self.stopping = False
        self.post_fork_done = False  # worker_exit runs only after post_fork returned
        self.exiting = False         # a graceful exit (and its worker_exit) is under way
        # Re-entrant: the SIGTERM handler runs on the main thread, which may hold it.
        self.lock = threading.RLock()

    # -- signals and death -------------------------------------------------------------

    def _install_signals(self):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, self._on_sigterm)
        faulthandler.enable(file=sys.stderr, all_threads=True)
        faulthandler.register(signal.SIGUSR2, file=sys.stderr, all_threads=True, chain=False)

    def _on_sigterm(self, signum, frame):
        # Runs in the main thread between bytecodes. No logging here.
        self.stopping = True
        with self.lock:
            if not any(s.busy or s.has_pending() for s in self.slots):
                self.graceful_exit()

    def idle_after_stop(self, slot):
        """Called by a slot thread that finished its request after SIGTERM."""
        with self.lock:
            if not any(s.busy or s.has_pending() for s in self.slots if s is not slot):
                self.graceful_exit()
        # Other slots are still busy; the last one to finish exits. Keep serving anything
        # the daemon still sends here (it should not after SIGTERM).

    def graceful_exit(self):
        """Run the worker_exit hook (once, if post_fork ran), then exit 0. Called with self.lock.

        A second SIGTERM while the hook runs (same thread, re-entering through the signal
        handler) returns here and lets the hook finish; the daemon's KILL deadline bounds it.
        """
        if self.exiting:
            return
        self.exiting = True
        hook = self.hooks.worker_exit
        if hook is not None and self.post_fork_done:
            try:
                hook(self.worker_id)
            except BaseException:
                try:
                    sys.stderr.write("[worker %s] worker_exit hook %r failed\n%s" % (
                        self.worker_id, self.hooks.specs.get("worker_exit"), traceback.format_exc()))
                except Exception:
                    pass
        _exit(EXIT_OK)

    def _boot_failed(self, slot0, text):
        """WORKER_FAILED with ``text`` on slot 0 (the daemon logs it once), then exit 3.
        Nothing goes to stderr when the send fails: a daemon that closed the slot is
        stopping (often because another worker reported this very failure) and has logged
        the traceback already, and a daemon that is gone leaves no log to add to; writing
        to the stderr this worker inherited only repeated the traceback after the daemon's
        last line (seen in CI with lazy workers)."""
        try:
            slot0.sendall(text_frame(WORKER_FAILED, text))
        except OSError:
            pass
        _exit(EXIT_APP_LOAD)

    def _watch_death(self):
        watch_death_pipe(self.death_fd)

    # -- run -----------------------------------------------------------------------------

    def run(self):
        try:
            self._run()
        except SlotClosed:
            _exit(EXIT_OK)
        except BaseException:
            try:
                sys.stderr.write("[worker %s] internal error\n%s" % (self.worker_id, traceback.format_exc()))
            except Exception:
                pass
            _exit(EXIT_INTERNAL)
        _exit(EXIT_OK)

    def _run(self):
        os.environ["HEARTH_WORKER_ID"] = str(self.worker_id)
        self._install_signals()
        threading.Thread(target=self._watch_death, name="hearth-death-pipe", daemon=True).start()
        slot0 = self.socks[0]
        for s in self.socks:
            s.setblocking(True)
        if self.hooks.post_fork is not None:
            try:
                self.hooks.post_fork(self.worker_id)
            except BaseException:
                self._boot_failed(slot0, "worker %s: post_fork hook %r failed\n%s" % (
                    self.worker_id, self.hooks.specs.get("post_fork"), traceback.format_exc()))
        self.post_fork_done = True
        if self.app is None:
            try:
                self.app = loader.load_app(self.app_spec)
            except BaseException:
                self._boot_failed(slot0, "worker %s: failed to load app %r\n%s" % (
                    self.worker_id, self.app_spec, loader.app_traceback()))
        if self.interface != "wsgi":
            self._maybe_run_asgi()
        self.slots = [Slot(self, i, sock, self.app) for i, sock in enumerate(self.socks)]
        boot_ms = int(round((time.monotonic() - self.fork_time) * 1000))
        self.slots[0].sendall(json_frame(WORKER_READY, {
            "pid": os.getpid(), "worker_id": self.worker_id, "boot_ms": boot_ms}))
        if self.threads == 1:
            self.slots[0].serve()
            return
        for slot in self.slots:
            threading.Thread(target=self._serve_thread, args=(slot,),
                             name="hearth-slot-%d" % slot.index, daemon=True).start()
        while True:
            signal.pause()

    def _maybe_run_asgi(self):
        """An ASGI app (interface "asgi", or "auto" and the app is one): serve it on an
        event loop (asgi_worker.py); never returns. A WSGI app under "auto" returns."""
        from .asgi import ASGI, AUTO, resolve_interface
        if resolve_interface(self.interface, self.app) != ASGI:
            return
        if self.interface == AUTO:
            sys.stderr.write(
                "[worker %s] interface = \"auto\" found an ASGI app after the fork (preload is off), so "
                "this worker has %d slot(s) (threads), not `concurrency`; set interface = \"asgi\"\n"
                % (self.worker_id, self.threads))
        from .asgi_worker import AsgiWorker
        AsgiWorker(self, self.lifespan).run()

    def _serve_thread(self, slot):
        try:
            slot.serve()
        except SlotClosed:
            _exit(EXIT_OK)
        except BaseException:
            try:
                sys.stderr.write("[worker %s] slot %d internal error\n%s"
                                 % (self.worker_id, slot.index, traceback.format_exc()))
            except Exception:
                pass
            _exit(EXIT_INTERNAL)
        _exit(EXIT_OK)
