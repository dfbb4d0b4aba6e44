# Hearth: the two commands a newcomer needs are `make run` and `make test`.
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PYTHON ?= /usr/bin/python3
BIND ?= 127.0.0.1:8000

ASAN_DIR ?= build-asan
SAN_LOGS = $(CURDIR)/$(ASAN_DIR)/sanitizer-logs
SAN_ENV = ASAN_OPTIONS=log_path=$(SAN_LOGS)/asan:detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1 \
	UBSAN_OPTIONS=log_path=$(SAN_LOGS)/ubsan:print_stacktrace=1:halt_on_error=0
SAN_CHECK = if ls $(SAN_LOGS)/* >/dev/null 2>&1; then cat $(SAN_LOGS)/*; echo "sanitizer reports above" >&2; exit 1; fi
ifeq ($(SANITIZE),1)
TEST_BUILD := build-asan
TEST_DIR := $(ASAN_DIR)
TEST_ENV = $(SAN_ENV) HEARTHD=$(CURDIR)/$(ASAN_DIR)/bin/hearthd
TEST_PREP = rm -rf $(SAN_LOGS) && mkdir -p $(SAN_LOGS)
TEST_FAIL = { $(SAN_CHECK); exit 1; }
TEST_DONE = @$(SAN_CHECK)
else
TEST_BUILD := build
TEST_DIR := $(BUILD_DIR)
TEST_ENV =
TEST_PREP = @true
TEST_FAIL = exit 1
TEST_DONE = @true
endif

.PHONY: all deps deps-build deps-bench deps-fuzz configure build run test unit-test pytest integration-test bench profile docs docs-check clean deb test-deb test-packaging fuzz test-sanitize build-asan

all: build

deps:
	packaging/install-deps.sh test

deps-build:
	packaging/install-deps.sh build

deps-bench:
	packaging/install-deps.sh bench

deps-fuzz:
	packaging/install-deps.sh fuzz

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

configure: $(BUILD_DIR)/CMakeCache.txt

build: deps-build configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Serves examples/hello on http://127.0.0.1:8000 (Ctrl-C stops it cleanly).
# As root it passes --allow-root (docs/security.md); set `user` for production.
run: deps build
	$(BUILD_DIR)/bin/hearthd -c examples/hello/hearth.toml --chdir examples/hello --python $(PYTHON) -b $(BIND) $(if $(filter 0,$(shell id -u)),--allow-root)

unit-test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# The integration suite runs in TEST_SHARDS processes (pytest-xdist, whole files per
# process: module fixtures stay in one process); TEST_SHARDS=1 runs it in one.
TEST_SHARDS ?= 2
INTEGRATION_SHARDS = $(if $(filter-out 0 1,$(TEST_SHARDS)),-n $(TEST_SHARDS) --dist loadfile)

# Separate runs: the suites have test modules of the same name (no packages).
pytest: deps build
	PYTHON=$(PYTHON) tests/run_runtime_suites.sh
	$(PYTHON) -m pytest -q -p no:cacheprovider $(INTEGRATION_SHARDS) tests/integration
	$(PYTHON) -m pytest -q -p no:cacheprovider tests/packaging

# packaging/: the k8s manifests, Dockerfile and systemd units (no docker or cluster needed; ~5 s).
test-packaging: deps build
	$(PYTHON) -m pytest -q -p no:cacheprovider tests/packaging

# The worker runtime suite runs twice, both at once (tests/run_runtime_suites.sh): with
# the C accelerator of the build (when it was built: python3-dev) and with
# HEARTH_NO_SPEEDUPS=1 (the pure-Python runtime). The integration suite runs in
# TEST_SHARDS processes (above).
# `make test SANITIZE=1` (what .ci/run does): the same suites against a Debug
# ASan+UBSan build in $(ASAN_DIR)/ instead of $(BUILD_DIR)/ (HEARTHD points the
# Python suites at it); a report from any process fails the run. See docs/testing.md.
test: deps $(TEST_BUILD)
	$(TEST_PREP)
	cd $(TEST_DIR) && $(TEST_ENV) ctest --output-on-failure -j $(JOBS) || $(TEST_FAIL)
	$(TEST_ENV) PYTHON=$(PYTHON) tests/run_runtime_suites.sh || $(TEST_FAIL)
	$(TEST_ENV) $(PYTHON) -m pytest -q -p no:cacheprovider $(INTEGRATION_SHARDS) tests/integration || $(TEST_FAIL)
	$(TEST_ENV) $(PYTHON) -m pytest -q -p no:cacheprovider tests/packaging || $(TEST_FAIL)
	$(TEST_DONE)

bench: deps-bench build
	$(PYTHON) bench/run.py

# Where hearthd's CPU and memory go (docs/profile.md): CPU per request by process,
# system calls per request, idle RSS by mapping, bytes per idle connection, and the
# daemon's instructions per proxied request under callgrind (alone: bench/profile.py --instructions-only),
# a 4 KB static file's instructions and system calls per request against nginx's (alone: --static-only),
# and the 100 KB GET and 1 MiB POST rows' daemon instructions and daemon/worker system calls per request (alone: --big-only).
profile: deps-bench build
	$(PYTHON) bench/profile.py

# Rewrites the generated parts of docs/ (the config reference in docs/config.md)
# from the schema compiled into hearthd. docs-check only reports.
docs: configure
	cmake --build $(BUILD_DIR) -j $(JOBS) --target hearthd
	$(PYTHON) docs/tools/update_generated.py $(BUILD_DIR)/bin/hearthd

docs-check: configure
	cmake --build $(BUILD_DIR) -j $(JOBS) --target hearthd
	$(PYTHON) docs/tools/update_generated.py $(BUILD_DIR)/bin/hearthd --check

# The Debian package: $(BUILD_DIR)/hearth_VERSION_ARCH.deb (a separate Release
# build configured for /usr, without the unit tests).
DEB_BUILD_DIR ?= build-deb
CCACHE := $(shell command -v ccache 2>/dev/null)
deb: deps-build
	cmake -S . -B $(DEB_BUILD_DIR) -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
	  -DHEARTH_DEB=ON -DHEARTH_BUILD_TESTS=OFF $(if $(CCACHE),-DCMAKE_CXX_COMPILER_LAUNCHER=$(CCACHE))
	cmake --build $(DEB_BUILD_DIR) -j $(JOBS)
	rm -f $(DEB_BUILD_DIR)/hearth_*.deb
	cd $(DEB_BUILD_DIR) && cpack -G DEB
	mkdir -p $(BUILD_DIR) && rm -f $(BUILD_DIR)/hearth_*.deb && cp $(DEB_BUILD_DIR)/hearth_*.deb $(BUILD_DIR)/

# Builds the package, checks it (lintian, hardening-check, copyright and changelog),
# unpacks it into a scratch root, runs the unpacked hearthd against the example app
# (HEARTH_DEB_INSTALL=1: also dpkg -i on this machine). Then the packaging suite
# against that Release hearthd (what the Dockerfile builds). `deps`: lintian,
# devscripts, promtool and the rest of the test tools.
test-deb: deps deb
	tests/packaging/test_deb.sh $(BUILD_DIR)/hearth_*.deb
	HEARTHD=$(CURDIR)/$(DEB_BUILD_DIR)/bin/hearthd $(PYTHON) -m pytest -q -p no:cacheprovider tests/packaging

# libFuzzer targets (clang, ASan+UBSan) in build-fuzz/, each run FUZZ_SECONDS; fails on
# any finding. See docs/testing.md.
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 20
fuzz: deps-fuzz
	JOBS=$(JOBS) fuzz/run.sh $(FUZZ_DIR) $(FUZZ_SECONDS)

# Every suite of `make test` against a Debug ASan+UBSan build in build-asan/
# (HEARTHD= points the Python suites at it). Sanitizer reports of any process
# (daemon, unit tests) go to build-asan/sanitizer-logs/; any report fails.
test-sanitize:
	$(MAKE) test SANITIZE=1

build-asan: deps-build
	@[ -f $(ASAN_DIR)/CMakeCache.txt ] || cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DHEARTH_SANITIZE=ON \
	  $$(command -v ccache >/dev/null && echo -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
	cmake --build $(ASAN_DIR) -j $(JOBS)

clean:
	rm -rf $(BUILD_DIR) $(DEB_BUILD_DIR)
