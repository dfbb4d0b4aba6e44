"""An app built by a no-argument factory (``factory_app:create()``)."""


def create():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"from factory"]
    return app
