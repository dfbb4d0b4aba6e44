"""Server hooks: ``pre_fork``, ``post_fork`` and ``worker_exit``, named as ``module:function``.

The zygote resolves every hook once (after sys.path/chdir setup, after the app import when
preloading), so a typo fails the zygote with ZYGOTE_FAILED instead of every worker. Each
hook is called with one argument, the worker id (an int):

* ``pre_fork(worker_id)``    in the zygote, before the fork of that worker
* ``post_fork(worker_id)``   in the worker right after the fork, before the lazy import and
                             before WORKER_READY; raising fails the worker (WORKER_FAILED)
* ``worker_exit(worker_id)`` in the worker when it exits gracefully (SIGTERM)

See docs/hooks.md for why apps that hold connections need post_fork.
"""

import importlib
import re

NAMES = ("pre_fork", "post_fork", "worker_exit")

_DOTTED_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


class HookSpecError(ValueError):
    """The hook spec string itself is malformed (no import attempted)."""


class HookLoadError(Exception):
    """The module imported but does not provide a callable under that name."""


def parse_hook_spec(spec):
    """Split ``module:function`` (the function may be dotted: ``mod:obj.fn``) into (module, attr)."""
    if not isinstance(spec, str) or not spec.strip():
        raise HookSpecError("empty hook spec; expected MODULE:FUNCTION")
    module, sep, attr = spec.strip().partition(":")
    if not sep:
        raise HookSpecError("hook spec %r has no ':'; expected MODULE:FUNCTION such as "
                            "myproject.hooks:post_fork" % spec)
    if not _DOTTED_RE.match(module):
        raise HookSpecError("bad module name %r in hook spec %r" % (module, spec))
    if not _DOTTED_RE.match(attr):
        raise HookSpecError("bad function name %r in hook spec %r (expected MODULE:FUNCTION, "
                            "no call parentheses)" % (attr, spec))
    return module, attr


def load_hook(spec):
    """Import the module of ``spec`` and return the callable it names.

    Exceptions raised by the module's own import propagate unchanged, so the traceback
    points into it.
    """
    module_name, attr = parse_hook_spec(spec)
    obj = importlib.import_module(module_name)
    walked = module_name
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise HookLoadError("%r has no attribute %r (hook %r)" % (walked, part, spec)) from None
        walked += ("." if walked != module_name else ":") + part
    if not callable(obj):
        raise HookLoadError("%s is %s, not a callable (hook %r)" % (walked, type(obj).__name__, spec))
    return obj


class Hooks:
    """The resolved hooks of one zygote: a callable or None for each name, and their specs."""

    __slots__ = NAMES + ("specs",)

    def __init__(self):
        for name in NAMES:
            setattr(self, name, None)
        self.specs = {}

    def load(self, name, spec):
        """Resolve ``spec`` as hook ``name``; raises what load_hook() raises."""
        if name not in NAMES:
            raise ValueError("unknown hook %r" % name)
        setattr(self, name, load_hook(spec))
        self.specs[name] = spec

    def __bool__(self):
        return bool(self.specs)
