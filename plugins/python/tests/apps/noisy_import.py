"""Prints at import; stdout is a file, so the line sits in the buffer when the zygote forks."""
print("NOISY-IMPORT-LINE")


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"noisy"]
