"""A small Flask app for the framework smoke test."""
import os
from flask import Flask, request, Response, send_file, stream_with_context
import io

app = Flask(__name__)


@app.route("/")
def index():
    return "flask ok"


@app.route("/echo", methods=["POST"])
def echo():
    return {"len": len(request.get_data()), "form": request.form.to_dict(), "worker": os.environ.get("HEARTH_WORKER_ID")}


@app.route("/stream")
def stream():
    def gen():
        for i in range(3):
            yield "part%d;" % i
    return Response(stream_with_context(gen()), mimetype="text/plain")


@app.route("/file")
def file():
    return send_file(io.BytesIO(b"F" * 100000), mimetype="application/octet-stream")


@app.route("/boom")
def boom():
    raise RuntimeError("flask boom")


if os.environ.get("HEARTH_TEST_VALIDATE") == "1":
    import warnings
    from wsgiref.validate import WSGIWarning, validator

    warnings.simplefilter("error", WSGIWarning)
    _flask = app

    def _sized_reads(environ, start_response):
        # wsgi.input_terminated makes Werkzeug call read() with no size, which the
        # validator's input wrapper forbids; without it Werkzeug reads CONTENT_LENGTH bytes.
        environ.pop("wsgi.input_terminated", None)
        return _flask(environ, start_response)

    app = validator(_sized_reads)
