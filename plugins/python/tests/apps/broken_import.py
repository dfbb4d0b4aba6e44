"""An app whose import fails (for ZYGOTE_FAILED / WORKER_FAILED tests)."""
raise ImportError("broken_import: this app cannot be imported (on purpose)")
