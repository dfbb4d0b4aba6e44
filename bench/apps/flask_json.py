"""Flask JSON: a small dict serialised with jsonify on every request."""
from flask import Flask, jsonify

application = Flask(__name__)


@application.route("/")
def data():
    return jsonify(
        {
            "id": 12345,
            "name": "hearth",
            "tags": ["wsgi", "http", "bench"],
            "active": True,
            "ratio": 0.75,
            "owner": {"login": "bench", "id": 7},
        }
    )
