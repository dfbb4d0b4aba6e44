"""Import the WSGI application named by an app spec.

Accepted forms (the same as gunicorn's, minus factory arguments):

* ``package.module:name``        - an attribute (dotted paths allowed: ``mod:obj.app``)
* ``package.module:factory()``   - call ``factory`` with no arguments, use the result
* ``package.module``             - the attribute ``application``, else ``app``
"""

import importlib
import os
import re
import sys
import traceback

_MODULE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_ATTR_RE = _MODULE_RE  # dotted identifiers


class AppSpecError(ValueError):
    """The app spec string itself is malformed (no import attempted)."""


class AppLoadError(Exception):
    """The module imported but does not provide a usable WSGI callable."""


def parse_spec(spec):
    """Split an app spec into (module, attribute or None, call_it). Raises AppSpecError."""
    if not isinstance(spec, str) or not spec.strip():
        raise AppSpecError("empty app spec; expected MODULE:CALLABLE")
    module, sep, attr = spec.strip().partition(":")
    if not _MODULE_RE.match(module):
        raise AppSpecError("bad module name %r in app spec %r" % (module, spec))
    if not sep:
        return module, None, False
    call = False
    if attr.endswith("()"):
        attr = attr[:-2]
        call = True
    elif "(" in attr or ")" in attr:
        raise AppSpecError(
            "app spec %r: factory arguments are not supported; use %r with a "
            "no-argument factory" % (spec, module + ":" + attr.split("(", 1)[0] + "()"))
    if not _ATTR_RE.match(attr):
        raise AppSpecError("bad attribute %r in app spec %r" % (attr, spec))
    return module, attr, call


def load_app(spec):
    """Import and return the WSGI callable for ``spec``.

    Exceptions raised by the app's own import propagate unchanged, so the caller's
    traceback points into the app.
    """
    module_name, attr, call = parse_spec(spec)
    module = importlib.import_module(module_name)
    if attr is None:
        for candidate in ("application", "app"):
            if hasattr(module, candidate):
                attr = candidate
                break
        else:
            raise AppLoadError(
                "module %r has neither 'application' nor 'app'; name the callable "
                "as %s:NAME" % (module_name, module_name))
    obj = module
    walked = module_name
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise AppLoadError("%r has no attribute %r (app spec %r)" % (walked, part, spec)) from None
        walked += ("." if walked != module_name else ":") + part
    if call:
        if not callable(obj):
            raise AppLoadError("factory %s is not callable" % walked)
        obj = obj()
        if obj is None:
            raise AppLoadError("factory %s() returned None" % walked)
    if not callable(obj):
        raise AppLoadError("%s is %s, not a WSGI callable" % (walked, type(obj).__name__))
    return obj


_OWN_DIR = os.path.dirname(os.path.abspath(__file__))


def _own_frame(filename):
    """Hearth's runtime or the import machinery, not the app."""
    if filename.startswith("<frozen importlib"):
        return True
    d = os.path.dirname(os.path.abspath(filename))
    return d == _OWN_DIR or os.path.basename(d) == "importlib" or \
        os.path.basename(filename) == "hearth_zygote.py"


def app_traceback(exc_info=None):
    """The current exception's traceback as text, without Hearth's own frames
    (zygote.py, loader.py, worker.py) and importlib's: what the app's author
    needs to see. A SyntaxError keeps its source line and caret."""
    etype, value, tb = exc_info or sys.exc_info()
    frames = [f for f in traceback.extract_tb(tb) if not _own_frame(f.filename)]
    return ("Traceback (most recent call last):\n" + "".join(traceback.format_list(frames)) +
            "".join(traceback.format_exception_only(etype, value)))
