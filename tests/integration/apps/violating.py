"""Deliberately broken apps wrapped in wsgi_strict: proves that a validator violation
inside a hearthd worker is seen by the tests (500 + X-Validator, or the marker in
hearthd's log). Used only by test_wsgi.py::test_validator_violations_are_caught."""
from wsgi_strict import strict


def _bad(environ, start_response):
    path = environ.get("PATH_INFO")
    if path == "/no-content-type":
        start_response("200 OK", [("Content-Length", "2")])  # violation at call time
        return [b"ok"]
    if path == "/str-body":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter(["not bytes"])  # violation while the body is iterated
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


app = strict(_bad)
