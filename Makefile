# veto — the front door. `make run` and `make test` are all a user needs; both install what is
# missing (make deps) and build first.
#
#   make deps    install missing Debian packages (idempotent; needs root or sudo)
#   make         release build into build/, programs in build/bin/
#   make test    unit + corpus + daemon end-to-end tests (release), the same under ASan+UBSan,
#                the concurrent daemon tests under TSan, fuzz smoke run
#   make run     build and run the main job on the bundled defaults
#   make bench   Google Benchmark suites (needs ../shared/corpora for corpus figures)
#   make peers   the same corpus through veto, SpamAssassin (spamd) and rspamd side by side:
#                messages per CPU-second and ratios (installs Debian's spamassassin, spamd,
#                spamc, rspamd if missing; slow: one SpamAssassin pass is minutes of CPU).
#                PEERS_ARGS is passed on (e.g. PEERS_ARGS="--reps 5 /path/to/maildir")
#   make fuzz    longer libFuzzer run (FUZZ_SECONDS, default 60)
#   make diff-sa differential test of the rule engine against SpamAssassin itself (also part
#                of make test as the ctest sa_differential; prints every difference)

JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 60

.PHONY: peers diff-sa all deps deps-test build build-asan build-tsan build-fuzz test test-release test-asan test-tsan fuzz-smoke fuzz run bench clean

all: build

deps:
	@scripts/deps.sh

build:
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)

build-asan:
	cmake --preset asan-ubsan >/dev/null
	cmake --build --preset asan-ubsan -j $(JOBS)

# TSan: only what the concurrent tests need (label "concurrent": the daemon's scanner and
# metrics, and reload under load through Postfix).
build-tsan:
	cmake --preset tsan >/dev/null
	cmake --build --preset tsan -j $(JOBS) --target vetod daemon_scanner_test daemon_metrics_test \
	  mobile_signals_test mobile_replay_test rules_re2_threads_test

build-fuzz:
	cmake --preset fuzz >/dev/null
	cmake --build --preset fuzz -j $(JOBS) --target mime_fuzzer decoders_fuzzer rules_fuzzer config_fuzzer \
	  classifier_model_fuzzer labelled_text_fuzzer \
	  sms_feed_fuzzer sms_jsonl_fuzzer sms_payload_fuzzer milter_session_fuzzer re2_form_fuzzer

# The test's own extra: a Debian root with Sendmail (Sendmail cannot sit next to Postfix).
deps-test:
	@scripts/deps.sh --test

test: deps-test
	$(MAKE) build
	$(MAKE) test-release
	$(MAKE) build-asan
	$(MAKE) test-asan
	$(MAKE) build-tsan
	$(MAKE) test-tsan
	$(MAKE) build-fuzz
	$(MAKE) fuzz-smoke
	@n=$$(( $$(ctest --preset release -N | sed -n 's/^Total Tests: //p') + \
	        $$(ctest --preset asan-ubsan -N | sed -n 's/^Total Tests: //p') + \
	        $$(ctest --preset tsan -N | sed -n 's/^Total Tests: //p') + \
	        $$(grep -c '^run ' scripts/fuzz.sh) )); \
	  echo "make test: release, ASan+UBSan, TSan and fuzz suites all passed"; \
	  echo "$$n passed, 0 failed"

test-release:
	ctest --preset release -j $(JOBS)

test-asan:
	ctest --preset asan-ubsan -j $(JOBS)

test-tsan:
	ctest --preset tsan -j $(JOBS)

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

peers: deps
	$(MAKE) build
	bench/peers/scan_peers.sh $(PEERS_ARGS)

diff-sa: deps
	$(MAKE) build
	python3 tests/integration/sa_differential.py build/bin/veto --cache-dir build/rule-cache --jobs $(JOBS)

clean:
	rm -rf build build-debug build-asan build-tsan build-fuzz
