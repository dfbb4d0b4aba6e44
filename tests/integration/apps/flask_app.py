"""A small Flask app (python3-flask) for the integration tests: `flask_app:app`."""
import os

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.get("/")
def index():
    return "Hello from Flask\n", 200, {"Content-Type": "text/plain; charset=utf-8"}


@app.get("/json")
def as_json():
    return jsonify(
        framework="flask",
        args=request.args.to_dict(),
        server_software=request.environ.get("SERVER_SOFTWARE"),
        worker_id=os.environ.get("HEARTH_WORKER_ID"),
        remote_addr=request.remote_addr,
    )


@app.post("/echo")
def echo():
    if request.is_json:
        return jsonify(received=request.get_json())
    return jsonify(form=request.form.to_dict(), length=request.content_length)


@app.get("/cookie")
def cookie():
    resp = jsonify(seen=request.cookies.get("flavour"))
    resp.set_cookie("a", "1")
    resp.set_cookie("b", "2")
    return resp
