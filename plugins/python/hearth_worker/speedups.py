"""The optional C accelerator, ``hearth_worker._speedups`` (plugins/python/speedups/).

``SPEEDUPS`` is the extension module, or None: the runtime then uses its pure-Python
functions, which compute exactly the same results (plugins/python/tests/test_speedups.py
checks both on the same inputs). Looked for, in order:

1. next to this package (``hearth_worker/_speedups*.so``, if someone put it there);
2. in ``$HEARTH_SPEEDUPS_DIR`` (tests and bench/ point it at a build's ``python-speedups``);
3. installed: ``<prefix>/share/hearth/python`` (this runtime) -> ``<prefix>/lib/hearth/
   python-speedups/`` (the .deb: /usr/lib/hearth/python-speedups/);
4. in the build tree of the hearthd that started this zygote: ``<build>/bin/hearthd`` ->
   ``<build>/python-speedups/`` (a dev build, ``make run``, the integration tests).

A file built for another Python version has another suffix and is not found: pure Python.
``HEARTH_NO_SPEEDUPS=1`` forces pure Python. The zygote imports this module before it
forks, so every worker uses what the zygote found (``describe()`` says which).
"""

import importlib.machinery
import importlib.util
import os
import sys

NAME = "hearth_worker._speedups"
ENV_DISABLE = "HEARTH_NO_SPEEDUPS"
ENV_DIR = "HEARTH_SPEEDUPS_DIR"
BUILD_SUBDIR = "python-speedups"


def disabled(environ=os.environ):
    return environ.get(ENV_DISABLE, "") not in ("", "0")


def _daemon_build_dir():
    """``<build>/python-speedups`` when the parent process is a ``<build>/bin/hearthd``."""
    try:
        exe = os.readlink("/proc/%d/exe" % os.getppid())
    except OSError:
        return None
    if os.path.basename(exe) != "hearthd":
        return None
    return os.path.join(os.path.dirname(os.path.dirname(exe)), BUILD_SUBDIR)


def _installed_dir():
    """``<prefix>/lib/hearth/python-speedups`` for a runtime in ``<prefix>/share/hearth/python``."""
    runtime = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    hearth = os.path.dirname(runtime)
    if os.path.basename(runtime) != "python" or os.path.basename(hearth) != "hearth":
        return None
    return os.path.join(os.path.dirname(os.path.dirname(hearth)), "lib", "hearth", BUILD_SUBDIR)


def _load_from(directory):
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = os.path.join(directory, "_speedups" + suffix)
        if os.path.isfile(path):
            loader = importlib.machinery.ExtensionFileLoader(NAME, path)
            spec = importlib.util.spec_from_file_location(NAME, path, loader=loader)
            module = importlib.util.module_from_spec(spec)
            loader.exec_module(module)
            sys.modules[NAME] = module
            return module
    return None


def _load():
    if disabled():
        return None, "pure Python (%s=1)" % ENV_DISABLE
    try:
        from . import _speedups
        return _speedups, "C accelerator " + _speedups.__file__
    except ImportError:
        pass
    for directory in (os.environ.get(ENV_DIR), _installed_dir(), _daemon_build_dir()):
        if not directory:
            continue
        try:
            module = _load_from(directory)
        except ImportError as exc:  # built for another interpreter, or damaged
            return None, "pure Python (%s did not load: %s)" % (directory, exc)
        if module is not None:
            return module, "C accelerator " + module.__file__
    return None, "pure Python (no %s for this Python)" % NAME


SPEEDUPS, _WHY = _load()


def describe():
    """One line for the log: which path the runtime uses, and why."""
    return "worker runtime: " + _WHY
