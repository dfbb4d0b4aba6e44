#!/usr/bin/env bash
# Idempotent: apt-installs only the Debian packages Hearth needs that are missing.
# Usage: packaging/install-deps.sh [build|test|bench|fuzz|ci|image]   (default: test)
#   ci: test + fuzz in one apt transaction (.ci/run installs everything first, so its
#   background builds never wait on the dpkg lock).
#   image: only what compiles hearthd and hearthctl (the Dockerfile's build stage;
#   no unit-test frameworks).
set -euo pipefail

profile="${1:-test}"

image_pkgs=(
  build-essential cmake pkg-config
  libboost1.81-dev
  libnghttp2-dev libtomlplusplus-dev libssl-dev
  libbrotli-dev zlib1g-dev
  prometheus-cpp-dev  # /metrics: only its core library is linked (libprometheus-cpp-core1.0)
)
build_pkgs=(
  "${image_pkgs[@]}"
  libgtest-dev libgmock-dev
  python3  # the worker runtime and the tests
  python3-dev  # the worker runtime's optional C accelerator (hearth_worker._speedups); without it: pure Python
)
test_pkgs=(
  python3-flask python3-django python3-pytest python3-h2
  python3-pytest-xdist  # make test: the integration suite in TEST_SHARDS processes (-n 2 --dist loadfile)
  python3-fastapi python3-starlette python3-uvloop  # tests/integration/test_asgi.py (ASGI apps; uvloop when importable)
  python3-websockets  # tests/integration: the WebSocket client (RFC 6455)
  curl nghttp2-client wrk procps prometheus zsh openssl
  postgresql python3-psycopg2
  python3-yaml  # tests/packaging: the Kubernetes manifests
  python3-venv  # tests/packaging: the container's app-image pattern (/venv)
  lintian devscripts  # make test-deb: lintian and hardening-check on the package
  python3-seccomp  # tests/packaging: hearthd under the unit's SystemCallFilter, enforced
  strace  # tests/packaging: every system call hearthd and its workers make
  logrotate  # tests/integration/test_logs.py: the packaged logrotate file, run for real
)
bench_pkgs=(
  gunicorn uwsgi uwsgi-plugin-python3 nginx-light wrk nghttp2-client
  python3-uvicorn python3-hypercorn  # make bench: the ASGI peers
  strace  # make profile: system calls per request
  valgrind  # make profile: instructions per request (callgrind)
  $(apt-cache show passenger >/dev/null 2>&1 && echo passenger || true)  # only where the distro has it
)

# make fuzz: clang 14 with libFuzzer and the sanitizer runtimes (libclang_rt.fuzzer*.a).
fuzz_pkgs=(
  clang libclang-rt-14-dev
)

want=("${build_pkgs[@]}")
case "$profile" in
  image) want=("${image_pkgs[@]}") ;;
  build) ;;
  test) want+=("${test_pkgs[@]}") ;;
  bench) want+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  fuzz) want+=("${fuzz_pkgs[@]}") ;;
  ci) want+=("${test_pkgs[@]}" "${fuzz_pkgs[@]}") ;;
  *) echo "install-deps.sh: unknown profile '$profile' (build|test|bench|fuzz|ci|image)" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists only when they are missing or older than a day.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages' -mmin -1440 2>/dev/null | head -n1)" ]; then
  $SUDO apt-get update -q
fi
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
