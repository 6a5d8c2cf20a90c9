# nexus-api: the two commands a newcomer needs are `make run` and `make test`.
# Everything else here serves them.

JOBS        ?= $(shell nproc)
BUILD       ?= build
ASAN_BUILD  ?= build-asan
FUZZ_BUILD  ?= build-fuzz
FUZZ_SECONDS ?= 10
FUZZ_LONG_SECONDS ?= 600
DATA_DIR    ?= ./data

.PHONY: all deps test-deps sdk-deps build run install test test-release test-asan fuzz fuzz-long bench bench-smoke bench-deps clean

all: build

# Install what is missing from Debian's packages (idempotent, quick when all is there): what the
# binary needs, and for the tests also GoogleTest, clang and Node.js.
deps:
	@scripts/install-deps.sh build

test-deps:
	@scripts/install-deps.sh test

# The OpenAI SDK for the SDK suite, exactly as tests/sdk/package-lock.json pins it.
sdk-deps: test-deps
	@if [ ! -f tests/sdk/node_modules/.package-lock.json ] || \
	    [ tests/sdk/package-lock.json -nt tests/sdk/node_modules/.package-lock.json ]; then \
	  npm ci --prefix tests/sdk --no-audit --no-fund --loglevel=error; fi

# The Release binary at build/nexus-api, and only it: no tests, no GoogleTest.
build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DNEXUS_BUILD_TESTS=OFF -DNEXUS_BUILD_BENCH=OFF >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) --target nexus-api

# Start nexus-api on :3000 with its data in ./data (SILICONFLOW_API_KEY from the environment).
run: build
	@mkdir -p $(DATA_DIR)
	NEXUS_DATA_DIR=$(DATA_DIR) ./$(BUILD)/nexus-api

# Install the Release binary as a systemd service (scripts/install.sh says what goes where;
# DESTDIR and PREFIX as usual). Run as root: `sudo make install`.
install: build
	@scripts/install.sh $(BUILD)/nexus-api

# Every test: Release, then the whole suite again under AddressSanitizer and
# UndefinedBehaviorSanitizer, then a short run of each fuzzer.
test: test-release test-asan fuzz
	@echo "make test: all suites passed"

test-release: sdk-deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DNEXUS_BUILD_TESTS=ON -DNEXUS_BUILD_BENCH=ON >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)
	cd $(BUILD) && ctest -j $(JOBS) --output-on-failure

test-asan: sdk-deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DNEXUS_SANITIZE=ON -DNEXUS_BUILD_TESTS=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest -j $(JOBS) --output-on-failure

fuzz: test-deps
	@CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNEXUS_BUILD_TESTS=OFF \
	  -DNEXUS_BUILD_FUZZERS=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_inspect fuzz_sse fuzz_heads fuzz_upstream_error fuzz_anthropic_stream
	@for f in inspect sse heads upstream_error anthropic_stream; do \
	  corpus=$(FUZZ_BUILD)/corpus/$$f; mkdir -p $$corpus; cp tests/fuzz/corpus/$$f/* $$corpus/; \
	  echo "fuzz_$$f: $(FUZZ_SECONDS) s"; \
	  ./$(FUZZ_BUILD)/tests/fuzz/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	    -print_final_stats=0 $$corpus 2>$(FUZZ_BUILD)/fuzz_$$f.log || { tail -50 $(FUZZ_BUILD)/fuzz_$$f.log; exit 1; }; \
	  tail -1 $(FUZZ_BUILD)/fuzz_$$f.log; \
	done

# A campaign outside CI: each fuzzer for FUZZ_LONG_SECONDS (10 minutes unless told), growing the
# corpus in build-fuzz/corpus; copy what it finds worth keeping into tests/fuzz/corpus.
fuzz-long:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_LONG_SECONDS)

# The bench beside nginx and Portkey (bench/run.sh): writes bench/RESULTS.md and bench/results.png.
# bench-smoke runs each step for a second, to prove the bench works; it writes only bench/out/.
bench: bench-deps
	bench/run.sh $(BUILD)

bench-smoke: bench-deps
	bench/run.sh $(BUILD) --smoke

bench-deps:
	@scripts/install-deps.sh bench
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DNEXUS_BUILD_TESTS=ON -DNEXUS_BUILD_BENCH=ON >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) --target nexus-api
	@if [ ! -f bench/portkey/node_modules/.package-lock.json ] || \
	    [ bench/portkey/package-lock.json -nt bench/portkey/node_modules/.package-lock.json ]; then \
	  npm ci --prefix bench/portkey --no-audit --no-fund --loglevel=error; fi
	@cmake --build $(BUILD) -j $(JOBS) --target nexus-mock-upstream nexus-stream-load

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
