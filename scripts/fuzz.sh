#!/usr/bin/env bash
# Runs each libFuzzer target for a bounded time, seeded from tests/data. Fails on any crash,
# leak, timeout or out-of-memory. Usage: scripts/fuzz.sh BUILD_DIR SECONDS_FOR_MIME
set -euo pipefail
build=${1:-build-fuzz}
seconds=${2:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

run() {  # name seconds seed-dirs...
  local name=$1 secs=$2; shift 2
  mkdir -p "$work/$name"
  echo "fuzz: $name for ${secs}s"
  "$build/bin/${name}_fuzzer" "$work/$name" "$@" \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 >"$work/$name.log" 2>&1 || {
      tail -50 "$work/$name.log"; echo "fuzz: $name FAILED"; exit 1; }
  grep -E 'stat::number_of_executed_units|Done' "$work/$name.log" | tail -2
}

run mime "$seconds" "$root/tests/data/email"
run decoders "$(( seconds / 4 > 5 ? seconds / 4 : 5 ))" "$root/tests/data/email"
run rules "$(( seconds / 4 > 5 ? seconds / 4 : 5 ))" "$root/rules/default"
run config "$(( seconds / 4 > 5 ? seconds / 4 : 5 ))" "$root/config" "$root/tests/data/config"
run classifier_model "$(( seconds / 4 > 5 ? seconds / 4 : 5 ))" "$root/tests/data/classifiers"
run labelled_text "$(( seconds / 4 > 5 ? seconds / 4 : 5 ))" "$root/tests/data/classifiers"
run sms_feed "$(( seconds / 4 > 5 ? seconds / 4 : 5 ))" "$root/tests/data/sms"
run sms_jsonl "$(( seconds / 4 > 5 ? seconds / 4 : 5 ))" "$root/tests/data/sms_jsonl"
run sms_payload "$(( seconds / 4 > 5 ? seconds / 4 : 5 ))" "$root/tests/data/sms"
run milter_session "$(( seconds / 4 > 5 ? seconds / 4 : 5 ))" "$root/tests/integration/daemon"
run re2_form "$(( seconds / 4 > 5 ? seconds / 4 : 5 ))" "$root/tests/data/rules/re2_form"
echo "fuzz: no crash, leak or timeout"
