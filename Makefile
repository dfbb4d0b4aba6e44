# Hearth: the two commands a newcomer needs are `make run` and `make test`.
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PYTHON ?= /usr/bin/python3
BIND ?= 127.0.0.1:8000

.PHONY: all deps deps-build deps-bench configure build run test unit-test pytest integration-test bench docs docs-check clean

all: build

deps:
	packaging/install-deps.sh test

deps-build:
	packaging/install-deps.sh build

deps-bench:
	packaging/install-deps.sh bench

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

# Rewrites the generated parts of docs/ (the config reference in docs/config.md)
# from the schema compiled into hearthd. docs-check only reports.
docs: configure
	cmake --build $(BUILD_DIR) -j $(JOBS) --target hearthd
	$(PYTHON) docs/tools/update_generated.py $(BUILD_DIR)/bin/hearthd

docs-check: configure
	cmake --build $(BUILD_DIR) -j $(JOBS) --target hearthd
	$(PYTHON) docs/tools/update_generated.py $(BUILD_DIR)/bin/hearthd --check

clean:
	rm -rf $(BUILD_DIR)
