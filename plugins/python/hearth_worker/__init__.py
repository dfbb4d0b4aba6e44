"""Hearth's Python worker runtime (stdlib only).

The daemon (hearthd) starts ``hearth_zygote.py``; everything it runs lives here:

* :mod:`protocol` - frame layout and constants of docs/worker-protocol.md
* :mod:`loader`   - ``module:callable`` / ``module:factory()`` app import
* :mod:`conn`     - a slot socket with its receive buffer (SlotConn)
* :mod:`lifeline` - exit_now() and the death pipe watch, for the zygote and the workers
* :mod:`wsgi`     - PEP 3333 pieces: wsgi.input, wsgi.errors, file_wrapper, header encoding
* :mod:`worker`   - one worker process: slots, threads, signals, death pipe
* :mod:`zygote`   - the control loop and the double fork
* :mod:`speedups` - finds the optional C accelerator ``_speedups`` (../speedups/_speedups.c)
"""

__all__ = ["protocol", "loader", "wsgi", "worker", "zygote"]
