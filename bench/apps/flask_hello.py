"""Flask hello: one route returning a short string."""
from flask import Flask

application = Flask(__name__)


@application.route("/")
def hello():
    return "Hello, world!"
