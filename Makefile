# veto — the front door. `make run` and `make test` are all a user needs; both install what is
# missing (make deps) and build first.
#
#   make deps    install missing Debian packages (idempotent; needs root or sudo)
#   make         release build into build/, programs in build/bin/
#   make test    unit + corpus tests (release), unit tests under ASan+UBSan, fuzz smoke run
#   make run     build and run the main job on the bundled defaults
#   make bench   Google Benchmark suites (needs ../shared/corpora for corpus figures)
#   make fuzz    longer libFuzzer run (FUZZ_SECONDS, default 300)

JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 60

.PHONY: all deps build build-asan build-fuzz test test-release test-asan fuzz-smoke fuzz run bench clean

all: build

deps:
	@scripts/deps.sh

build:
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)

build-asan:
	cmake --preset asan-ubsan >/dev/null
	cmake --build --preset asan-ubsan -j $(JOBS)

build-fuzz:
	cmake --preset fuzz >/dev/null
	cmake --build --preset fuzz -j $(JOBS) --target mime_fuzzer decoders_fuzzer

test: deps
	$(MAKE) build
	$(MAKE) test-release
	$(MAKE) build-asan
	$(MAKE) test-asan
	$(MAKE) build-fuzz
	$(MAKE) fuzz-smoke
	@echo "make test: all suites passed"

test-release:
	ctest --preset release -j $(JOBS)

test-asan:
	ctest --preset asan-ubsan -j $(JOBS)

fuzz-smoke:
	scripts/fuzz.sh build-fuzz $(FUZZ_SECONDS)

fuzz: build-fuzz
	scripts/fuzz.sh build-fuzz $(FUZZ_SECONDS)

run: deps
	$(MAKE) build
	scripts/run.sh

bench: deps
	$(MAKE) build
	scripts/bench.sh

clean:
	rm -rf build build-debug build-asan build-fuzz
