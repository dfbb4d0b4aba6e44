"""Records every request that reaches the app, for tests/integration/test_smuggling.py.

Each request appends one JSON line to the file named by the environment variable
HEARTH_TEST_RECORD (hearthd passes it on with `-e`): method, path, query, the
HTTP_* environ keys, CONTENT_LENGTH and the body (latin-1, first 4 KiB) with its
length. Answers 200 with "recorded <path>".
"""
import json
import os


def app(environ, start_response):
    body = environ["wsgi.input"].read()
    entry = {
        "method": environ["REQUEST_METHOD"],
        "path": environ.get("PATH_INFO", ""),
        "query": environ.get("QUERY_STRING", ""),
        "headers": {k: v for k, v in environ.items() if k.startswith("HTTP_")},
        "content_length": environ.get("CONTENT_LENGTH", ""),
        "body_len": len(body),
        "body": body[:4096].decode("latin-1"),
    }
    with open(os.environ["HEARTH_TEST_RECORD"], "a") as f:
        f.write(json.dumps(entry) + "\n")
    out = ("recorded " + entry["path"] + "\n").encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(out)))])
    return [out]
