"""A Flask app mounted under a prefix (test_several_apps.py): Flask reads SCRIPT_NAME
as its script_root, so url_for() builds links under the mount."""
import os

from flask import Flask, jsonify, request, url_for

app = Flask(__name__)


@app.route("/")
def index():
    return jsonify(tag=os.environ.get("APP_TAG", ""), script_root=request.script_root, path=request.path,
                   link=url_for("hello", name="x"))


@app.route("/hello/<name>")
def hello(name):
    return jsonify(tag=os.environ.get("APP_TAG", ""), script_root=request.script_root, path=request.path,
                   name=name, url=request.url)
