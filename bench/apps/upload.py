"""Upload sink: reads the whole request body and answers with its length."""


def application(environ, start_response):
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ["wsgi.input"]
    received = 0
    while received < length:
        chunk = stream.read(min(65536, length - received))
        if not chunk:
            break
        received += len(chunk)
    body = str(received).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
