"""A hooks module whose import fails (tests/test_hooks.py)."""

raise ImportError("the hooks module cannot be imported (on purpose)")
