"""An app whose import fails: hearthd must exit 3 and show this traceback."""


def _load_settings():
    raise RuntimeError("broken-app-import-marker: settings could not be loaded")


_load_settings()


def app(environ, start_response):  # never reached
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"unreachable\n"]
