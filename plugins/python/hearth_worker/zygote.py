"""The zygote: imports the app once, then forks workers on the daemon's FORK command.

States: starting -> (preload: importing the app) -> (resolving --hook-* callables)
        -> ZYGOTE_FAILED + exit 3 | ZYGOTE_READY
        -> waiting for commands -> exits 0 on SHUTDOWN, EOF on the control socket or
        the death pipe. Once ready it is single-threaded, so that fork() is safe.
"""

import argparse
import faulthandler
import gc
import json
import os
import select
import signal
import socket
import struct
import sys
import threading
import time
import traceback

from . import hooks, loader, speedups
from .lifeline import EXIT_APP_LOAD, EXIT_INTERNAL, EXIT_OK, death_pipe_readable  # noqa: F401
from .lifeline import exit_now as _exit
from .protocol import (
    FORK, FORK_FAILED, FORKED, SHUTDOWN, ZYGOTE_FAILED, ZYGOTE_READY,
    PeerClosed, ProtocolError, json_frame, recv_control_frame, text_frame)

_PID = struct.Struct("<q")


def parse_args(argv):
    p = argparse.ArgumentParser(prog="hearth_zygote.py", description="Hearth Python zygote")
    p.add_argument("--control-fd", type=int, required=True)
    p.add_argument("--death-fd", type=int, required=True)
    p.add_argument("--app", required=True, help="MODULE:CALLABLE or MODULE:FACTORY()")
    default_preload = os.environ.get("HEARTH_PRELOAD", "1") != "0"
    p.add_argument("--preload", dest="preload", action="store_true", default=default_preload)
    p.add_argument("--no-preload", dest="preload", action="store_false")
    p.add_argument("--chdir", default=None)
    p.add_argument("--pythonpath", action="append", default=[])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--generation", type=int, default=0)
    p.add_argument("--interface", choices=("wsgi", "asgi", "auto"), default="wsgi")
    p.add_argument("--concurrency", type=int, default=100, help="slots of an ASGI worker")
    p.add_argument("--lifespan", choices=("auto", "on", "off"), default="auto")
    for name in hooks.NAMES:
        p.add_argument("--hook-" + name.replace("_", "-"), dest="hook_" + name, default=None,
                       metavar="MODULE:FUNCTION", help="the %s server hook (docs/hooks.md)" % name)
    args = p.parse_args(argv)
    if args.threads < 1:
        p.error("--threads must be >= 1")
    if args.concurrency < 1:
        p.error("--concurrency must be >= 1")
    return args


def setup_path(chdir, pythonpath):
    """Put the app's directory and --pythonpath entries at the front of sys.path, then chdir.

    Order: chdir (or the current directory), then each --pythonpath in the order given,
    then whatever was there (plugins/python first), so the app's modules win.
    """
    front = [os.path.abspath(chdir) if chdir else os.getcwd()]
    front += [os.path.abspath(p) for p in pythonpath]
    rest = [p for p in sys.path if p not in front]
    sys.path[:] = front + rest
    if chdir:
        os.chdir(chdir)


class DeathWatch:
    """A thread that exits the process on EOF of the death pipe, for the app's import only.

    The import can take long or hang, and the zygote's poll loop is not running yet. The
    thread is stopped and joined before the zygote reports ready, so the zygote is
    single-threaded again when it forks (and threads_after_import counts only the app's).
    """

    def __init__(self, death_fd):
        self.death_fd = death_fd
        self.stop_r, self.stop_w = os.pipe()
        self.thread = threading.Thread(target=self._run, name="hearth-import-deathwatch", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        os.write(self.stop_w, b"x")
        self.thread.join()
        os.close(self.stop_r)
        os.close(self.stop_w)
        return False

    def _run(self):
        poller = select.poll()
        poller.register(self.death_fd, select.POLLIN)
        poller.register(self.stop_r, select.POLLIN)
        while True:
            for fd, _ev in poller.poll():
                if fd == self.stop_r:
                    return
                death_pipe_readable(fd)


class Zygote:
    def __init__(self, args):
        self.args = args
        self.ctrl = socket.socket(fileno=args.control_fd)
        self.ctrl.setblocking(True)
        self.death_fd = args.death_fd
        self.app = None
        self.hooks = hooks.Hooks()
        self.interface = args.interface  # resolved from "auto" once the app is loaded
        self.slots = args.threads        # slot sockets per worker (FORK must carry this many)

    def send(self, data):
        try:
            self.ctrl.sendall(data)
        except OSError:
            _exit(EXIT_OK)  # the daemon is gone

    # -- start ---------------------------------------------------------------------------

    def boot(self):
        import_ms = 0
        if not self.args.preload:
            try:
                loader.parse_spec(self.args.app)  # a typo fails here, not in every worker
            except loader.AppSpecError:
                self._fail("bad app spec %r\n%s" % (self.args.app, traceback.format_exc()))
        if self.args.preload:
            t0 = time.monotonic()
            try:
                with DeathWatch(self.death_fd):
                    self.app = loader.load_app(self.args.app)
            except BaseException:
                self._fail("failed to load app %r\n%s" % (self.args.app, loader.app_traceback()))
            import_ms = int(round((time.monotonic() - t0) * 1000))
        self._load_hooks()
        if self.args.interface != "wsgi":  # a WSGI zygote imports nothing more than before
            from .asgi import ASGI, resolve_interface
            self.interface = resolve_interface(self.args.interface, self.app)
            self.slots = self.args.concurrency if self.interface == ASGI else self.args.threads
        if self.args.preload:
            gc.collect()
            gc.freeze()
        threads = threading.active_count()
        if threads > 1:
            sys.stderr.write(
                "hearth zygote: WARNING: the app started %d thread(s) at import; forking it "
                "is unsafe (use preload = false or start threads in the worker)\n" % (threads - 1))
            sys.stderr.flush()
        self.send(json_frame(ZYGOTE_READY, {
            "pid": os.getpid(),
            "python": "%d.%d.%d" % sys.version_info[:3],
            "preload": bool(self.args.preload),
            "import_ms": import_ms,
            "threads_after_import": threads,
            "interface": self.interface,
            "slots": self.slots,
            "speedups": speedups.SPEEDUPS is not None,
        }))

    def _load_hooks(self):
        """Resolve the --hook-* callables (after the app when preloading); ZYGOTE_FAILED if one fails.

        The hooks' modules are imported here, in the zygote, also with preload off: a typo
        fails once, at start, and post_fork can run before a worker's lazy import.
        """
        wanted = [(name, getattr(self.args, "hook_" + name)) for name in hooks.NAMES
                  if getattr(self.args, "hook_" + name)]
        if not wanted:
            return
        name = spec = None
        try:
            with DeathWatch(self.death_fd):
                for name, spec in wanted:
                    self.hooks.load(name, spec)
        except BaseException:
            self._fail("failed to load the %s hook %r (--hook-%s)\n%s" % (
                name, spec, name.replace("_", "-"), traceback.format_exc()))

    def _fail(self, text):
        """ZYGOTE_FAILED with ``text`` (the daemon logs it once), then exit 3. Only
        when the daemon cannot be told does the text go to stderr."""
        try:
            self.ctrl.sendall(text_frame(ZYGOTE_FAILED, text))
        except OSError:
            sys.stderr.write("hearth zygote: " + text)
            sys.stderr.flush()
        _exit(EXIT_APP_LOAD)

    # -- loop ----------------------------------------------------------------------------

    def loop(self):
        poller = select.poll()
        ctrl_fd = self.ctrl.fileno()
        poller.register(ctrl_fd, select.POLLIN)
        poller.register(self.death_fd, select.POLLIN)
        while True:
            for fd, _ev in poller.poll():
                if fd == self.death_fd:
                    death_pipe_readable(fd)
                elif fd == ctrl_fd:
                    self.command()

    def command(self):
        try:
            ftype, _flags, _aux, payload, fds = recv_control_frame(self.ctrl)
        except PeerClosed:
            _exit(EXIT_OK)
        except ProtocolError as exc:
            sys.stderr.write("hearth zygote: protocol error: %s; closing\n" % exc)
            sys.stderr.flush()
            self.ctrl.close()
            _exit(EXIT_INTERNAL)
        if ftype == SHUTDOWN:
            for fd in fds:
                os.close(fd)
            _exit(EXIT_OK)
        if ftype == FORK:
            self.fork(payload, fds)

    def fork(self, payload, fds):
        worker_id = -1
        try:
            try:
                msg = json.loads(payload.decode("utf-8"))
                worker_id = int(msg["worker_id"])
            except (ValueError, KeyError, TypeError) as exc:
                raise RuntimeError("bad FORK payload %r: %s" % (payload[:200], exc)) from None
            if len(fds) != self.slots:
                raise RuntimeError("FORK carried %d slot socket(s), expected %d (%s)"
                                   % (len(fds), self.slots,
                                      "--concurrency" if self.slots != self.args.threads else "--threads"))
            self._run_pre_fork(worker_id)
            pid = self._double_fork(worker_id, fds)
        except Exception as exc:
            self.send(json_frame(FORK_FAILED, {"worker_id": worker_id, "error": str(exc)}))
            return
        finally:
            for fd in fds:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.send(json_frame(FORKED, {"worker_id": worker_id, "pid": pid}))

    def _run_pre_fork(self, worker_id):
        """Call pre_fork(worker_id); if it raises, the traceback goes to stderr and the fork
        is refused (FORK_FAILED), the zygote keeps running."""
        hook = self.hooks.pre_fork
        if hook is None:
            return
        try:
            hook(worker_id)
        except BaseException as exc:
            sys.stderr.write("hearth zygote: pre_fork hook %r failed for worker %s; not forking it\n%s"
                             % (self.hooks.specs["pre_fork"], worker_id, traceback.format_exc()))
            sys.stderr.flush()
            raise RuntimeError("pre_fork hook %r failed: %s: %s" % (
                self.hooks.specs["pre_fork"], type(exc).__name__, exc)) from None

    def _double_fork(self, worker_id, fds):
        """Fork an intermediate that forks the worker and exits; return the worker's pid."""
        # Unflushed stdio (an app's print() at import) would otherwise be written again by
        # every worker when it flushes.
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        r, w = os.pipe()
        fork_time = time.monotonic()
        try:
            mid = os.fork()
        except OSError:
            os.close(r)
            os.close(w)
            raise
        if mid == 0:  # intermediate
            code = 1
            try:
                os.close(r)
                pid = os.fork()
                if pid == 0:
                    os.close(w)
                    self._become_worker(worker_id, fds, fork_time)  # never returns
                os.write(w, _PID.pack(pid))
                code = 0
            except BaseException as exc:
                try:
                    os.write(w, ("E" + str(exc)).encode("utf-8", "replace")[:4000])
                except BaseException:
                    pass
            os._exit(code)
        os.close(w)
        try:
            while True:
                try:
                    os.waitpid(mid, 0)
                    break
                except ChildProcessError:
                    break
            chunks = []
            while True:
                data = os.read(r, 4096)
                if not data:
                    break
                chunks.append(data)
        finally:
            os.close(r)
        data = b"".join(chunks)
        if len(data) == _PID.size:
            return _PID.unpack(data)[0]
        if data.startswith(b"E"):
            raise RuntimeError("fork of worker failed: " + data[1:].decode("utf-8", "replace"))
        raise RuntimeError("intermediate child exited without reporting the worker pid")

    def _become_worker(self, worker_id, fds, fork_time):
        try:
            set_process_name("worker")
            from .worker import Worker
            self.ctrl.close()
            socks = [socket.socket(fileno=fd) for fd in fds]
            Worker(worker_id, socks, self.death_fd, app=self.app,
                   app_spec=None if self.app is not None else self.args.app,
                   fork_time=fork_time, hooks=self.hooks, interface=self.interface,
                   lifespan=self.args.lifespan).run()
        except BaseException:
            try:
                sys.stderr.write("[worker %s] failed to start\n%s" % (worker_id, traceback.format_exc()))
                sys.stderr.flush()
            except BaseException:
                pass
        os._exit(EXIT_INTERNAL)


def set_process_name(role):
    """``proc_name`` (--name): the zygote's and the workers' process name (comm, as
    ps -o comm and top show it) becomes "NAME:zygote" / "NAME:worker", cut to the
    kernel's 15 bytes. Nothing when the name is not set or prctl is unavailable."""
    name = os.environ.get("HEARTH_PROC_NAME")
    if not name:
        return
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(15, ctypes.c_char_p(("%s:%s" % (name, role)).encode("utf-8", "replace")[:15]), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("HEARTH_WORKER_ID", "zygote")
    set_process_name("zygote")
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda signum, frame: _exit(EXIT_OK))
    faulthandler.enable(file=sys.stderr, all_threads=True)
    faulthandler.register(signal.SIGUSR2, file=sys.stderr, all_threads=True, chain=False)
    setup_path(args.chdir, args.pythonpath)
    # Once per zygote (its workers inherit the choice): C accelerator or pure Python.
    sys.stderr.write("hearth zygote: %s\n" % speedups.describe())
    zygote = Zygote(args)
    zygote.boot()
    zygote.loop()
    return EXIT_OK
