"""A 100 KB (102,400-byte) response body from raw WSGI, built once at import."""

BODY = b"x" * (100 * 1024)
HEADERS = [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(BODY)))]


def application(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
