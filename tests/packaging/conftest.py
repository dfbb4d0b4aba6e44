"""Shared setup for tests/packaging.

CI runs the suite as root; hearthd refuses to run the app as root unless told
(docs/security.md), so every hearthd these tests start inherits
HEARTH_ALLOW_ROOT=1 when the suite runs as root, as in tests/integration.
"""
import os

if os.geteuid() == 0:
    os.environ.setdefault("HEARTH_ALLOW_ROOT", "1")
