"""Wrap a WSGI app in wsgiref.validate.validator with every WSGIWarning made an error.

A violation found while the app is called (environ checks, start_response checks)
turns the response into `500` with the header `X-Validator: fail` and the message in
the body, so a test sees it as a wrong status. A violation found later (while the body
is iterated or closed, or an iterator that is never closed) cannot change the status
any more: it is written to stderr with the marker below, and the integration tests
scan hearthd's stderr for that marker (and for the validator's own "garbage collected
without being closed" message) after every request made against a validated app.
"""
import sys
import warnings
from wsgiref.validate import WSGIWarning, validator

MARKER = "WSGI-VALIDATOR-VIOLATION"

# In the worker process: every WSGI warning is an error, so it cannot go unnoticed.
warnings.simplefilter("error", WSGIWarning)


def _report(where, exc):
    sys.stderr.write(f"{MARKER} [{where}] {type(exc).__name__}: {exc}\n")
    sys.stderr.flush()


class _Guarded:
    """Iterates the validator's iterator, reporting violations raised on the way."""

    def __init__(self, inner):
        self._inner = inner

    def __iter__(self):
        return self

    def __next__(self):
        try:
            return next(self._inner)
        except (AssertionError, WSGIWarning) as exc:
            _report("iterate", exc)
            raise

    def close(self):
        try:
            self._inner.close()
        except (AssertionError, WSGIWarning) as exc:
            _report("close", exc)
            raise


def strict(app):
    checked = validator(app)

    def strict_app(environ, start_response):
        try:
            result = checked(environ, start_response)
        except (AssertionError, WSGIWarning) as exc:
            _report("call", exc)
            body = f"{MARKER}: {type(exc).__name__}: {exc}\n".encode("utf-8", "replace")
            start_response("500 Internal Server Error", [
                ("Content-Type", "text/plain"),
                ("Content-Length", str(len(body))),
                ("X-Validator", "fail"),
            ], sys.exc_info())
            return [body]
        return _Guarded(result)

    return strict_app
