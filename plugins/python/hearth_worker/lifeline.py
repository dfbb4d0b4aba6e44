"""Leaving the process, and the death pipe that tells the zygote and its workers to leave.

The daemon holds the write end of the death pipe; EOF on the read end means the daemon is
gone and the process must exit now (docs/worker-protocol.md). Used by the zygote (its poll
loop, and a thread while the app is imported) and by every worker (a thread).
"""

import os
import sys

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_APP_LOAD = 3


def exit_now(code):
    """Flush stdio and leave without running the parent's atexit handlers or finalizers."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(code)


def death_pipe_readable(fd):
    """The death pipe polled readable: read it; exit_now(EXIT_OK) on EOF or an error.

    Returns when the readiness was spurious or the bytes were not an EOF (nothing is ever
    written to the pipe, so in practice it does not return)."""
    try:
        if not os.read(fd, 4096):
            exit_now(EXIT_OK)
    except BlockingIOError:
        pass
    except InterruptedError:  # pragma: no cover
        pass
    except OSError:
        exit_now(EXIT_OK)


def watch_death_pipe(fd):
    """Block on the death pipe until EOF, then exit_now(EXIT_OK). For a daemon thread."""
    try:
        os.set_blocking(fd, True)
    except OSError:
        pass
    while True:
        death_pipe_readable(fd)
