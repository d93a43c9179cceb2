# The two commands of the README:
#   make run   - install what is missing, build, start imgsecd on a demo dataset
#   make test  - install what is missing, build, run every test (plain, then ASan+UBSan)
MAKEFLAGS  += --no-print-directory
BUILD      ?= build
SAN_BUILD  ?= build-san
JOBS       ?= $(shell nproc)
# Tests: twice the cores. Most API tests spend their time waiting for a
# server, a pace or a poll, not on a core: on 2 cores -j4 ran the plain
# suite in 214 s against 259 s at -j2 (docs/performance.md, "make test").
TEST_JOBS  ?= $(shell echo $$(( $$(nproc) * 2 )))
CTEST_ARGS ?= --output-on-failure -j $(TEST_JOBS)

.PHONY: all deps build build-san run test test-plain test-san clean fuzz bench bench-smoke deb package-test

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
	cd $(BUILD) && ctest $(CTEST_ARGS) -LE package

# Unit and API tests once more under AddressSanitizer and UndefinedBehaviorSanitizer
# (the API suite's second run on PostgreSQL, pg.api.*, runs in test-plain only:
# it runs the same server code as its SQLite run, and would double the time).
test-san: build-san
	cd $(SAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest $(CTEST_ARGS) -L 'unit|api' -E '^pg[.]api[.]'

# The benchmark at a tiny size, only to keep it working (numbers: make bench).
bench-smoke: build
	@bench/run.sh --quick --bin $(BUILD) --work $(BUILD)/bench-smoke --data $(BUILD)/bench-data
	@bench/lists.sh --quick --bin $(BUILD) --work $(BUILD)/bench-smoke-lists

# bench-smoke before the sanitizer pass, so ctest's summary is the last thing printed.
test: test-plain bench-smoke test-san

clean:
	rm -rf $(BUILD) $(SAN_BUILD)

# libFuzzer targets (clang), each run for FUZZ_SECONDS; see docs/security.md.
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
# every target: one per tests/fuzz/fuzz_<t>.c (the replay harness aside)
FUZZ_TARGETS ?= $(filter-out replay,$(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c)))
fuzz:
	@scripts/deps.sh fuzz
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIMGSEC_FUZZ=ON \
	  -DIMGSEC_WERROR=OFF >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))
	@tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# The fleet-scale benchmark, by hand (docs/performance.md), e.g.
#   make bench BENCH_ARGS='--images 100000 --records-per-image 200'
PERF_BUILD ?= build-perf
BENCH_ARGS ?=
bench: deps
	@cmake -S . -B $(PERF_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(PERF_BUILD) -j $(JOBS) --target imgsecd imgsec-cli
	@bench/run.sh --bin $(PERF_BUILD) $(BENCH_ARGS)

# The Debian package (docs/operations.md "Installing"): built for /usr in
# its own tree, and tested by installing it into a clean Debian 12 root
# (tests/package/test_deb.sh: root, debootstrap and the Debian mirror; the
# debootstrapped base is kept in $(BUILD)/package-test/base for later runs).
DEB_BUILD ?= build-deb
deb: deps
	@cmake -S . -B $(DEB_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
	  -DBUILD_TESTING=OFF >/dev/null
	@cmake --build $(DEB_BUILD) -j $(JOBS) --target imgsecd imgsec-cli manpages
	@cd $(DEB_BUILD) && cpack -G DEB
package-test: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIMGSEC_PACKAGE_TEST=ON >/dev/null
	cd $(BUILD) && ctest --output-on-failure -L package
