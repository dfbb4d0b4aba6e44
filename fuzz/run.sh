#!/usr/bin/env bash
# Builds the libFuzzer targets into BUILD_DIR and runs each for SECONDS; exits 1
# if any target crashed, leaked, hit a sanitizer report or broke an invariant.
# Usage: fuzz/run.sh [BUILD_DIR] [SECONDS] [TARGET...]   (make fuzz calls it)
# Targets run JOBS (default: nproc) at a time. FUZZ_BUILD_ONLY=1: build, run nothing.
# New interesting inputs go to BUILD_DIR/corpus/<target>/ (not checked in);
# crash reproducers to BUILD_DIR/artifacts/. Replay one with
#   BUILD_DIR/fuzz_<target> BUILD_DIR/artifacts/<file>
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-build-fuzz}"
seconds="${2:-20}"
shift $(( $# > 2 ? 2 : $# ))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(http1_request worker_protocol config_toml h2_session proxy_protocol ws_frame_parser)

if ! command -v clang++ >/dev/null; then
  echo "fuzz: clang++ not found: run packaging/install-deps.sh fuzz" >&2
  exit 2
fi
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
# Configured every time (a second or two): the source lists are globs, and a
# build directory from before a new .cc file would not link.
cmake -S fuzz -B "$dir" -DCMAKE_CXX_COMPILER=clang++ "${launcher[@]}" >/dev/null
cmake --build "$dir" -j "${JOBS:-$(nproc)}" --target "${targets[@]/#/fuzz_}"

[ "${FUZZ_BUILD_ONLY:-0}" = 1 ] && exit 0  # .ci/run builds in the background, runs later

declare -A max_len=([http1_request]=10000 [worker_protocol]=4096 [config_toml]=16384 [h2_session]=16384 [proxy_protocol]=4200 [ws_frame_parser]=8192)
# One target: runs it for $seconds; its exit status is the verdict.
run_one() {
  local t=$1 log="$dir/$1.log"
  mkdir -p "$dir/corpus/$t" "$dir/artifacts"
  echo "fuzz: $t for ${seconds}s" >&2
  if "$dir/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -max_len="${max_len[$t]:-4096}" -print_final_stats=1 \
       -artifact_prefix="$dir/artifacts/$t-" "$dir/corpus/$t" "fuzz/corpus/$t" >"$log" 2>&1; then
    grep -E "^stat::number_of_executed_units|^Done" "$log" | sed "s/^/fuzz: $t: /" >&2
  else
    echo "fuzz: $t FAILED (log: $log)" >&2
    grep -E "ERROR|SUMMARY|runtime error|Assertion|Test unit written" "$log" | head -20 >&2 || true
    return 1
  fi
}
# The targets run JOBS at a time (each is one process: one core each).
jobs_at_once="${JOBS:-$(nproc)}"
failed=()
pids=()
names=()
collect() {
  local i
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || failed+=("${names[$i]}")
  done
  pids=()
  names=()
}
for t in "${targets[@]}"; do
  run_one "$t" &
  pids+=($!)
  names+=("$t")
  [ ${#pids[@]} -lt "$jobs_at_once" ] || collect
done
collect
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failing targets: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: all targets ran ${seconds}s without a finding" >&2
