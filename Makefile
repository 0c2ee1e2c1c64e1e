# Strand: the two commands are `make demo` and `make test`.
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc)
CTEST_ARGS ?=

.PHONY: all deps configure build test unit demo bench clean

all: build

deps:
	@bash hack/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

# The whole suite: unit, netns, bpf and e2e labels, with ctest's summary.
test: build
	@bash hack/test.sh $(BUILD_DIR) $(CTEST_ARGS)

# Only the tests that need no root.
unit: build
	@cd $(BUILD_DIR) && ctest -L unit --output-on-failure

demo: build
	@bash hack/demo.sh $(BUILD_DIR)

bench: build
	@bash hack/bench.sh $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)
