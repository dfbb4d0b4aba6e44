"""An ASGI worker: one asyncio event loop (uvloop when importable), one task per slot.

The daemon gives the worker ``concurrency`` slot sockets, each speaking the same frames as
a WSGI thread's slot (docs/worker-protocol.md); here every slot is a task on one loop, so
one process serves that many requests at once while the daemon counts them as slots.

Life (after :class:`worker.Worker` ran post_fork and loaded the app):
  lifespan.startup (a failure is WORKER_FAILED + exit 3) -> WORKER_READY on slot 0
  -> serving (one task per slot)
  -> SIGTERM: when no slot is busy, lifespan.shutdown, the worker_exit hook, exit 0
  -> EOF on the death pipe or a slot socket: exit at once (no shutdown events).
"""

import asyncio
import os
import signal
import sys
import time
import traceback

from .asgi import build_scope, encode_response_start
from .asgi_websocket import WsCycle, build_websocket_scope
from .conn import BUF_KEEP, SlotClosed, poll_client_gone
from .lifeline import EXIT_INTERNAL, EXIT_OK
from .lifeline import exit_now as _exit
from .protocol import (
    CLIENT_GONE, FLAG_ABORTED, FLAG_STREAM, HEADER, MAX_PAYLOAD, REQUEST, RESPONSE_BODY, RESPONSE_END,
    WORKER_READY, WS_DISCONNECT, WS_RECEIVE, json_frame)
from .speedups import SPEEDUPS
from .wsgi import no_body_expected

_decode = SPEEDUPS.decode_environ if SPEEDUPS is not None else None

_END = HEADER.pack(RESPONSE_END, 0, 0, 0, 0)
_END_ABORTED = HEADER.pack(RESPONSE_END, FLAG_ABORTED, 0, 0, 0)
_BODY_PACK = HEADER.pack
_BODY_CHUNK = 64 * 1024  # request body bytes per http.request event
_SHUTDOWN_TIMEOUT = 30.0
# A slot's receive buffer: small, since a worker has `concurrency` (100) of them; it grows
# for a larger environ block and shrinks again when idle (as conn.py's).
_SLOT_BUF = 16 * 1024

_500_BODY = b"Internal Server Error\n"
_500_MESSAGE = {"type": "http.response.start", "status": 500,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(_500_BODY)).encode())]}


def new_event_loop():
    """uvloop's loop when it is importable, else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop(), "asyncio"
    return uvloop.new_event_loop(), "uvloop"


class LifespanError(Exception):
    """lifespan.startup failed (or, with lifespan = "on", is not supported)."""


class Lifespan:
    """The app's lifespan scope, run as one task for the worker's life."""

    def __init__(self, app, mode, log):
        self.app = app
        self.mode = mode          # "auto" | "on" | "off"
        self.log = log
        self.supported = False    # startup completed: shutdown will be sent
        self.state = {}
        self._inbox = asyncio.Queue()
        self._outbox = asyncio.Queue()
        self._task = None

    async def _run(self):
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}
        await self.app(scope, self._inbox.get, self._outbox.put)

    async def _wait(self):
        """The app's next lifespan message, or None when the task ended first."""
        getter = asyncio.ensure_future(self._outbox.get())
        await asyncio.wait((getter, self._task), return_when=asyncio.FIRST_COMPLETED)
        if getter.done():
            return getter.result()
        getter.cancel()
        return None

    async def startup(self):
        if self.mode == "off":
            return
        self._task = asyncio.ensure_future(self._run())
        await self._inbox.put({"type": "lifespan.startup"})
        msg = await self._wait()
        if msg is None:
            exc = self._task.exception() if not self._task.cancelled() else None
            if self.mode == "auto":
                if exc is not None:
                    self.log("lifespan not supported by the app (%s: %s); continuing without it"
                             % (type(exc).__name__, exc))
                return
            if exc is not None:
                raise LifespanError("lifespan.startup failed\n" + "".join(
                    traceback.format_exception(type(exc), exc, exc.__traceback__)))
            raise LifespanError("lifespan.startup failed\nlifespan = \"on\" but the app returned from the "
                                "lifespan scope without answering lifespan.startup")
        if msg.get("type") == "lifespan.startup.failed":
            raise LifespanError("lifespan.startup failed\n%s" % (msg.get("message") or "(no message)"))
        if msg.get("type") != "lifespan.startup.complete":
            raise LifespanError("lifespan.startup failed\nunexpected lifespan message %r" % (msg.get("type"),))
        self.supported = True

    async def shutdown(self):
        if not self.supported:
            return
        self.supported = False
        await self._inbox.put({"type": "lifespan.shutdown"})
        try:
            msg = await asyncio.wait_for(self._wait(), _SHUTDOWN_TIMEOUT)
        except asyncio.TimeoutError:
            self.log("lifespan.shutdown did not finish within %ds" % _SHUTDOWN_TIMEOUT)
            return
        if msg is None:
            exc = self._task.exception() if not self._task.cancelled() else None
            if exc is not None:
                self.log("lifespan.shutdown failed\n" + "".join(
                    traceback.format_exception(type(exc), exc, exc.__traceback__)))
        elif msg.get("type") == "lifespan.shutdown.failed":
            self.log("lifespan.shutdown failed: %s" % msg.get("message", ""))


class AsyncSlot:
    """One slot socket served by one task: reads REQUEST frames, runs the ASGI cycle."""

    def __init__(self, aworker, index, sock):
        self.aw = aworker
        self.index = index
        self.sock = sock
        self.buf = bytearray(_SLOT_BUF)
        self.view = memoryview(self.buf)
        self.pos = 0
        self.end = 0
        self.busy = False
        self.request_id = "-"
        self.gone_cb = None  # watch_gone(): called once CLIENT_GONE arrives
        # One readiness watch on the socket, kept between reads (_wait_readable): the
        # loop's sock_recv_into() would register and drop one per call (uvloop: some
        # seven epoll_ctl(2) calls and an ioctl(2) per frame).
        self.reader_on = False
        self.waiter = None  # the future _wait_readable() awaits
        self.drained = False  # the last receive took less than it could: the socket was empty

    def has_pending(self):
        if self.pos < self.end:
            return True
        try:
            return bool(self.sock.recv(1, 0x02 | 0x40))  # MSG_PEEK | MSG_DONTWAIT
        except OSError:
            return False

    def log(self, text):
        prefix = "[worker %s req %s] " % (self.aw.worker.worker_id, self.request_id)
        sys.stderr.write("".join([prefix + line + "\n" for line in text.rstrip("\n").split("\n")]))

    # -- socket ------------------------------------------------------------------------

    async def fill(self, need):
        if self.pos + need > len(self.buf):
            avail = self.end - self.pos
            if need > len(self.buf):
                grown = bytearray(need)
                grown[:avail] = self.view[self.pos:self.end]
                self.buf = grown
                self.view = memoryview(grown)
            else:
                self.buf[:avail] = self.buf[self.pos:self.end]
            self.pos = 0
            self.end = avail
        # _recv_into() and _wait_readable() inlined: two coroutines less per request.
        while self.end - self.pos < need:
            if self.drained:
                if not self.reader_on:
                    self._reader_needed()
                fut = self.aw.loop.create_future()
                self.waiter = fut
                try:
                    await fut
                finally:
                    if self.waiter is fut:
                        self.waiter = None
            view = self.view[self.end:]
            try:
                n = self.sock.recv_into(view)
            except (BlockingIOError, InterruptedError):
                self.drained = True
                continue
            except OSError as exc:
                raise SlotClosed(str(exc)) from None
            if not n:
                raise SlotClosed("EOF")
            self.drained = n < len(view)
            self.end += n

    async def _recv_into(self, view):
        """recv_into() on the non-blocking socket, waiting for readability when empty
        (at once when the last receive drained it: no recv(2) that fails with EAGAIN)."""
        if self.drained:
            await self._wait_readable()
        while True:
            try:
                n = self.sock.recv_into(view)
            except (BlockingIOError, InterruptedError):
                await self._wait_readable()
                continue
            except OSError as exc:
                raise SlotClosed(str(exc)) from None
            self.drained = n < len(view)
            return n

    async def _wait_readable(self):
        self._reader_needed()
        fut = self.aw.loop.create_future()
        self.waiter = fut
        try:
            await fut
        finally:
            if self.waiter is fut:
                self.waiter = None

    def _reader_needed(self):
        if not self.reader_on:
            self.reader_on = True
            self.aw.loop.add_reader(self.sock.fileno(), self._on_readable)

    def _reader_off(self):
        if self.reader_on:
            self.reader_on = False
            self.aw.loop.remove_reader(self.sock.fileno())

    async def read_body(self, size):
        """Up to ``size`` (> 0) body bytes: buffered ones, else one receive."""
        if self.end == self.pos:
            self.pos = self.end = 0
            if size > len(self.buf):
                # A receive of up to `size` bytes (instead of the slot buffer's 16 KiB), so
                # a large body arrives in fewer, larger http.request events.
                chunk = bytearray(size)
                n = await self._recv_into(chunk)
                if not n:
                    raise SlotClosed("EOF")
                return bytes(memoryview(chunk)[:n])
            await self.fill(1)
        n = min(size, self.end - self.pos)
        data = bytes(self.view[self.pos:self.pos + n])
        self.pos += n
        return data

    # -- CLIENT_GONE ---------------------------------------------------------------------

    def watch_gone(self, on_gone):
        """Call ``on_gone()`` once the daemon sends CLIENT_GONE (or is gone). Only while
        the app runs and after the request body was read whole (nothing else reads the
        socket then); a readiness callback, so nothing is left half-read when the request
        ends (unwatch())."""
        if self.gone_cb is not None:
            return
        if self.end - self.pos >= 16 and poll_client_gone(self):
            on_gone()
            return
        self.gone_cb = on_gone
        self._reader_needed()

    def _on_readable(self):
        waiter = self.waiter
        if waiter is not None:  # a read is waiting: it reads
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)
            return
        if self.gone_cb is None:
            # Readable while nobody reads (the next frame came early): stop watching
            # until a read waits again (the watch is level-triggered).
            self._reader_off()
            return
        gone = poll_client_gone(self)
        if gone or self.end - self.pos >= 16:  # gone, or another frame: stop watching
            cb = self.gone_cb
            self.unwatch()
            if gone:
                cb()

    def unwatch(self):
        if self.gone_cb is not None:
            self.gone_cb = None
            self._reader_off()

    def send_now(self, data):
        """One plain send() of ``data``: how many bytes went (the slot socket almost always
        takes a whole response at once). The rest is for :meth:`send_rest`."""
        try:
            return self.sock.send(data)
        except (BlockingIOError, InterruptedError):
            return 0
        except OSError as exc:
            raise SlotClosed(str(exc)) from None

    async def send_rest(self, data, sent):
        """``data[sent:]`` through the loop (it waits for the socket to drain)."""
        try:
            await self.aw.loop.sock_sendall(self.sock, memoryview(data)[sent:])
        except OSError as exc:
            raise SlotClosed(str(exc)) from None

    async def sendall(self, data):
        """Write ``data`` whole: :meth:`send_now`, the loop only for what did not fit (the
        loop's sock_sendall() alone costs a coroutine and its bookkeeping per call)."""
        n = self.send_now(data)
        if n < len(data):
            await self.send_rest(data, n)

    # -- the loop ----------------------------------------------------------------------

    async def serve(self):
        aw = self.aw
        while True:
            self.busy = False
            self.request_id = "-"
            if aw.stopping:
                aw.idle_after_stop()
            if self.pos == self.end:
                self.pos = self.end = 0
                if len(self.buf) > BUF_KEEP:
                    self.buf = bytearray(_SLOT_BUF)
                    self.view = memoryview(self.buf)
            if self.end - self.pos < 16:
                await self.fill(16)
            self.busy = True
            ftype, _flags, _res, length, body_len = HEADER.unpack_from(self.buf, self.pos)
            if ftype in (WS_RECEIVE, WS_DISCONNECT) and length <= MAX_PAYLOAD:
                # Sent for a WebSocket whose app had already closed it: skipped.
                self.pos += 16
                await self.skip(length)
                continue
            if ftype != REQUEST or length > MAX_PAYLOAD:
                if ftype == CLIENT_GONE and not length:
                    self.pos += 16  # it crossed our RESPONSE_END: stale
                    continue
                self.log("protocol error: frame type 0x%02x, length %d on slot %d; exiting"
                         % (ftype, length, self.index))
                _exit(EXIT_INTERNAL)
            self.pos += 16
            if self.end - self.pos < length:
                await self.fill(length)
            if _decode is not None:  # the C accelerator
                env = _decode(self.view, self.pos, length)
            else:  # protocol.decode_environ_py, inlined: a call less per request
                it = iter(str(self.view[self.pos:self.pos + length], "latin-1").split("\0"))
                env = dict(zip(it, it))
            self.pos += length
            self.request_id = env.get("hearth.request_id", "-")
            state = aw.lifespan.state if aw.lifespan.supported else None
            if env.get("hearth.websocket") == "1":
                await WsCycle(self, env).run(aw.app, build_websocket_scope(env, state))
                if body_len:
                    await self.skip(body_len)
                continue
            cycle = Cycle(self, env, body_len)
            try:
                await cycle.run(aw.app, build_scope(env, state))
            finally:
                self.unwatch()
            if cycle.body_left:
                await self.skip(cycle.body_left)

    async def skip(self, count):
        while count:
            if self.end == self.pos:
                self.pos = self.end = 0
                await self.fill(1)
            n = min(count, self.end - self.pos)
            self.pos += n
            count -= n


class Cycle:
    """One request's ASGI ``receive``/``send`` pair over its slot."""

    __slots__ = ("slot", "env", "body_left", "request_done", "start", "code", "remaining", "started",
                 "sent", "complete", "done", "head_only", "gone")

    def __init__(self, slot, env, body_len):
        self.slot = slot
        self.env = env
        self.body_left = body_len
        self.request_done = False  # the final http.request (more_body False) was returned
        self.start = None        # encoded RESPONSE_START, held until the first body bytes or the end
        self.code = 0
        self.remaining = None    # Content-Length still allowed, None = no limit
        self.started = False     # the app sent http.response.start
        self.sent = False        # RESPONSE_START went out
        self.complete = False    # RESPONSE_END went out
        self.done = None         # future set when the response is complete or the client gone
        self.head_only = False
        self.gone = False        # CLIENT_GONE arrived: send() is a no-op, receive() says disconnect

    async def receive(self):
        if not self.request_done:
            if self.body_left:
                data = await self.slot.read_body(min(self.body_left, _BODY_CHUNK))
                self.body_left -= len(data)
                more = self.body_left > 0
            else:
                data = b""
                more = False
            self.request_done = not more
            return {"type": "http.request", "body": data, "more_body": more}
        # After the body: http.disconnect once the response has ended or the client went
        # away (CLIENT_GONE; docs/asgi.md).
        if not self.complete and not self.gone:
            if self.done is None:
                self.done = self.slot.aw.loop.create_future()
            self.slot.watch_gone(self._on_gone)
            await self.done
        return {"type": "http.disconnect"}

    def _on_gone(self):
        self.gone = True
        if self.done is not None and not self.done.done():
            self.done.set_result(None)

    async def send(self, message):
        if self.gone:
            return  # the client went away: a no-op, as uvicorn 0.17 does (ASGI spec 2.3)
        mtype = message["type"]
        if mtype == "http.response.start":
            if self.started:
                raise RuntimeError("http.response.start sent twice")
            self.start, self.code, cl = encode_response_start(message)
            self.started = True
            self.head_only = no_body_expected(self.env.get("REQUEST_METHOD"), self.code)
            self.remaining = cl if cl is not None and not self.head_only else None
            return
        if mtype == "http.response.body":
            if not self.started:
                raise RuntimeError("http.response.body before http.response.start")
            if self.complete:
                raise RuntimeError("http.response.body after the response ended")
            body = message.get("body", b"")
            if type(body) is not bytes:
                body = bytes(body)
            more = message.get("more_body", False)
            rem = self.remaining
            if rem is not None:
                if len(body) > rem:
                    body = body[:rem]
                self.remaining = rem - len(body)
            parts = []
            if not self.sent and (body or not more):
                start = self.start
                if more:
                    # More to come: a stream (FLAG_STREAM), each chunk to the client as sent.
                    start = bytes((start[0], start[1] | FLAG_STREAM)) + start[2:]
                    if not self.body_left:
                        self.slot.watch_gone(self._on_gone)
                parts.append(start)
                self.sent = True
            if body:
                parts.append(_BODY_PACK(RESPONSE_BODY, 0, 0, len(body), 0))
                parts.append(body)
            if not more:
                if self.remaining:
                    self.slot.log("Content-Length declared %d more bytes than the app produced" % self.remaining)
                    parts.append(_END_ABORTED)
                else:
                    parts.append(_END)
                self.complete = True
            if parts:
                data = b"".join(parts)
                n = self.slot.send_now(data)  # no coroutine when the socket takes it all
                if n < len(data):
                    await self.slot.send_rest(data, n)
            if self.complete and self.done is not None and not self.done.done():
                self.done.set_result(None)
            return
        raise RuntimeError("unexpected ASGI message %r in an http scope" % (mtype,))

    async def run(self, app, scope):
        try:
            await app(scope, self.receive, self.send)
            if self.gone:
                await self._end_gone()
            elif not self.complete:
                if not self.started:
                    raise RuntimeError("the ASGI app returned without sending http.response.start")
                self.slot.log("the ASGI app returned before the response ended (more_body was left True)")
                await self._abort()
        except SlotClosed:
            raise
        except BaseException as exc:
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            self.slot.log("Error handling request %s %s\n%s" % (
                self.env.get("REQUEST_METHOD", "?"), self.env.get("RAW_URI", self.env.get("PATH_INFO", "?")),
                traceback.format_exc()))
            if self.complete:
                pass
            elif self.gone:
                await self._end_gone()
            elif self.sent:
                await self._abort()
            else:
                self.started = self.sent = False
                self.remaining = None
                await self.send(_500_MESSAGE)
                await self.send({"type": "http.response.body", "body": _500_BODY})
        finally:
            if self.done is not None and not self.done.done():
                self.done.set_result(None)

    async def _end_gone(self):
        """End the exchange whose client went away: RESPONSE_END (alone when nothing was
        sent: after CLIENT_GONE the daemon takes that), so the slot is free again."""
        if self.complete:
            return
        self.complete = True
        await self.slot.sendall(_END)

    async def _abort(self):
        self.complete = True
        if self.sent:
            await self.slot.sendall(_END_ABORTED)
        else:
            self.sent = True
            await self.slot.sendall(self.start + _END_ABORTED)


class AsgiWorker:
    """Runs the worker's event loop. ``run()`` never returns."""

    def __init__(self, worker, lifespan_mode="auto"):
        self.worker = worker
        self.app = worker.app
        self.loop, self.loop_name = new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.lifespan = Lifespan(self.app, lifespan_mode, self.log)
        self.slots = []
        self.stopping = False
        self.exiting = False

    def log(self, text):
        sys.stderr.write("".join(["[worker %s] %s\n" % (self.worker.worker_id, line)
                                  for line in text.rstrip("\n").split("\n")]))

    def run(self):
        w = self.worker
        slot0 = w.socks[0]
        try:
            self.loop.run_until_complete(self.lifespan.startup())
        except BaseException as exc:
            text = str(exc) if isinstance(exc, LifespanError) else traceback.format_exc()
            w._boot_failed(slot0, "worker %s: %s\n" % (w.worker_id, text.rstrip("\n")))
        boot_ms = int(round((time.monotonic() - w.fork_time) * 1000))
        slot0.sendall(json_frame(WORKER_READY, {
            "pid": os.getpid(), "worker_id": w.worker_id, "boot_ms": boot_ms}))
        for sock in w.socks:
            sock.setblocking(False)
        self.slots = [AsyncSlot(self, i, sock) for i, sock in enumerate(w.socks)]
        self.loop.add_signal_handler(signal.SIGTERM, self._on_sigterm)
        for slot in self.slots:
            self.loop.create_task(self._serve(slot))
        self.loop.run_forever()
        _exit(EXIT_OK)

    async def _serve(self, slot):
        try:
            await slot.serve()
        except SlotClosed:
            _exit(EXIT_OK)
        except BaseException:
            try:
                sys.stderr.write("[worker %s] slot %d internal error\n%s"
                                 % (self.worker.worker_id, slot.index, traceback.format_exc()))
            except Exception:
                pass
            _exit(EXIT_INTERNAL)

    def _idle(self, but=None):
        return not any(s.busy or s.has_pending() for s in self.slots if s is not but)

    def _on_sigterm(self):
        self.stopping = True
        if self._idle():
            self._start_exit()

    def idle_after_stop(self):
        if self._idle():
            self._start_exit()

    def _start_exit(self):
        if self.exiting:
            return
        self.exiting = True
        self.loop.create_task(self._graceful_exit())

    async def _graceful_exit(self):
        try:
            await self.lifespan.shutdown()
        except BaseException:
            self.log("lifespan.shutdown failed\n" + traceback.format_exc())
        self.worker.graceful_exit()  # the worker_exit hook, then exit 0
