#!/usr/bin/env bash
# The worker runtime suite (plugins/python/tests) twice, at the same time: with the
# C accelerator of the build and with HEARTH_NO_SPEEDUPS=1 (the pure-Python runtime).
# The two runs share nothing (temp dirs, socketpairs, no ports), so running them side
# by side halves their wall time on two cores (docs/testing.md "What CI runs").
# Each run's output is printed whole once both have ended; exits non-zero if either failed.
set -u
cd "$(dirname "$0")/.."
py=${PYTHON:-/usr/bin/python3}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$py" -m pytest -q -p no:cacheprovider plugins/python/tests > "$dir/c.log" 2>&1 &
c=$!
HEARTH_NO_SPEEDUPS=1 "$py" -m pytest -q -p no:cacheprovider plugins/python/tests > "$dir/py.log" 2>&1 &
p=$!
wait "$c"; rc=$?
wait "$p"; rp=$?
echo "== the worker runtime suite with the C accelerator (exit $rc)"
cat "$dir/c.log"
echo "== the worker runtime suite, pure Python: HEARTH_NO_SPEEDUPS=1 (exit $rp)"
cat "$dir/py.log"
[ "$rc" -eq 0 ] && [ "$rp" -eq 0 ]
