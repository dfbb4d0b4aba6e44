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
