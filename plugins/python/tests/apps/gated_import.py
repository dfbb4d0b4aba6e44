"""An app whose import blocks until the file named by $HEARTH_TEST_GATE exists (max 30 s)."""
import os
import sys
import time

_gate = os.environ["HEARTH_TEST_GATE"]
sys.stderr.write("gated_import: waiting for the gate\n")
sys.stderr.flush()
_deadline = time.monotonic() + 30
while not os.path.exists(_gate) and time.monotonic() < _deadline:
    time.sleep(0.05)


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"gated"]
