# The two commands of the README:
#   make run   - install what is missing, build, start imgsecd on a demo dataset
#   make test  - install what is missing, build, run every test (plain, then ASan+UBSan)
MAKEFLAGS  += --no-print-directory
BUILD      ?= build
SAN_BUILD  ?= build-san
JOBS       ?= $(shell nproc)
CTEST_ARGS ?= --output-on-failure -j $(JOBS)

.PHONY: all deps build build-san run test test-plain test-san clean

all: build

deps:
	@scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

build-san: deps
	@cmake -S . -B $(SAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DIMGSEC_SANITIZE=ON >/dev/null
	@cmake --build $(SAN_BUILD) -j $(JOBS)

run: build
	@scripts/run-demo.sh $(BUILD)

test-plain: build
	cd $(BUILD) && ctest $(CTEST_ARGS)

# Unit and API tests once more under AddressSanitizer and UndefinedBehaviorSanitizer.
test-san: build-san
	cd $(SAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest $(CTEST_ARGS) -L 'unit|api'

test: test-plain test-san

clean:
	rm -rf $(BUILD) $(SAN_BUILD)
