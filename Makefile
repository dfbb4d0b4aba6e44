# Hearth: the two commands a newcomer needs are `make run` and `make test`.
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PYTHON ?= /usr/bin/python3
BIND ?= 127.0.0.1:8000

.PHONY: all deps deps-build deps-bench deps-fuzz configure build run test unit-test pytest integration-test bench clean fuzz test-sanitize

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
run: deps build
	$(BUILD_DIR)/bin/hearthd -c examples/hello/hearth.toml --chdir examples/hello --python $(PYTHON) -b $(BIND)

unit-test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# Two runs: both suites have test modules of the same name (no packages).
pytest: deps build
	$(PYTHON) -m pytest -q -p no:cacheprovider plugins/python/tests
	$(PYTHON) -m pytest -q -p no:cacheprovider tests/integration

test: deps build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)
	$(PYTHON) -m pytest -q -p no:cacheprovider plugins/python/tests
	$(PYTHON) -m pytest -q -p no:cacheprovider tests/integration

bench: deps-bench build
	$(PYTHON) bench/run.py

# libFuzzer targets (clang, ASan+UBSan) in build-fuzz/, each run FUZZ_SECONDS; fails on
# any finding. See docs/testing.md.
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 20
fuzz: deps-fuzz
	JOBS=$(JOBS) fuzz/run.sh $(FUZZ_DIR) $(FUZZ_SECONDS)

# ctest and the integration suite against a Debug ASan+UBSan hearthd in build-asan/
# (HEARTHD= points tests/integration/conftest.py at it). Sanitizer reports of any
# process (daemon, unit tests) go to build-asan/sanitizer-logs/; any report fails.
ASAN_DIR ?= build-asan
SAN_LOGS = $(CURDIR)/$(ASAN_DIR)/sanitizer-logs
SAN_ENV = ASAN_OPTIONS=log_path=$(SAN_LOGS)/asan:detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1 \
	UBSAN_OPTIONS=log_path=$(SAN_LOGS)/ubsan:print_stacktrace=1:halt_on_error=0
SAN_CHECK = if ls $(SAN_LOGS)/* >/dev/null 2>&1; then cat $(SAN_LOGS)/*; echo "test-sanitize: sanitizer reports above" >&2; exit 1; fi
test-sanitize: deps
	@[ -f $(ASAN_DIR)/CMakeCache.txt ] || cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DHEARTH_SANITIZE=ON \
	  $$(command -v ccache >/dev/null && echo -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
	cmake --build $(ASAN_DIR) -j $(JOBS)
	rm -rf $(SAN_LOGS) && mkdir -p $(SAN_LOGS)
	cd $(ASAN_DIR) && $(SAN_ENV) ctest --output-on-failure -j $(JOBS) || { $(SAN_CHECK); exit 1; }
	$(SAN_ENV) HEARTHD=$(CURDIR)/$(ASAN_DIR)/bin/hearthd $(PYTHON) -m pytest -q -p no:cacheprovider tests/integration \
	  || { $(SAN_CHECK); exit 1; }
	@$(SAN_CHECK)

clean:
	rm -rf $(BUILD_DIR)
