"""basic:app, but the import waits until the file named by $HEARTH_TEST_GATE exists
(at most 15 s), so a test can observe hearthd while the app is still loading."""
import os
import time

_gate = os.environ.get("HEARTH_TEST_GATE", "")
_deadline = time.monotonic() + 15
while _gate and not os.path.exists(_gate) and time.monotonic() < _deadline:
    time.sleep(0.02)

from basic import app  # noqa: E402,F401  (re-exported as gated:app)
