"""flask_app:app wrapped in wsgiref.validate.validator, warnings as errors.

Two adjustments so the validator sees violations instead of Flask hiding them:
* PROPAGATE_EXCEPTIONS: an AssertionError raised by the validator inside a view
  reaches wsgi_strict (500 + marker) instead of becoming Flask's own 500 page.
* `wsgi.input_terminated` is hidden from werkzeug: with it werkzeug calls
  `wsgi.input.read()` without a size, which PEP 3333 does not define and the validator
  rejects. Without it werkzeug reads at most CONTENT_LENGTH, which Hearth always sets.
  (flask_app:app, unwrapped, still runs with the extension.)
"""
from flask_app import app as _flask
from wsgi_strict import strict

_flask.config["PROPAGATE_EXCEPTIONS"] = True


def _pep3333_input(environ, start_response):
    environ.pop("wsgi.input_terminated", None)
    return _flask(environ, start_response)


app = strict(_pep3333_input)
