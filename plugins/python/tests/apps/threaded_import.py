"""An app that starts a thread at import: forking it is unsafe, the zygote must say so."""
import threading

_stop = threading.Event()
threading.Thread(target=_stop.wait, daemon=True).start()


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"threaded"]
