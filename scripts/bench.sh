#!/usr/bin/env bash
# Runs the benchmark suites and prints a Markdown summary table to paste into the README.
# rules_bench needs Debian's spamassassin rules and compiles them on its first run (minutes;
# cached in build/rule-cache afterwards).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/build/bin"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for b in email_bench policy_bench rules_bench; do
  [ -x "$bin/$b" ] || continue
  if [ "$b" = rules_bench ] && [ ! -f /usr/share/spamassassin/50_scores.cf ]; then
    echo "bench: skipping rules_bench (install Debian's spamassassin for the stock rules)" >&2
    continue
  fi
  echo "bench: $b" >&2
  "$bin/$b" --benchmark_repetitions=${REPS:-5} --benchmark_report_aggregates_only=true \
    --benchmark_format=json >"$tmp/$b.json"
done
python3 - "$tmp"/*.json <<'PY'
import json, sys
first = True
for path in sys.argv[1:]:
    d = json.load(open(path))
    if first:
        c = d["context"]
        print(f"machine: {c.get('num_cpus')} cpus @ {c.get('mhz_per_cpu')} MHz, {c.get('date')}")
        print()
        print("| benchmark (median, 1 thread) | MB/s | items/s |")
        print("| --- | ---: | ---: |")
        first = False
    for b in d["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        mbs = b.get("bytes_per_second", 0) / 1e6
        items = b.get("msgs/s") or b.get("items_per_second")
        mbs_s = f"{mbs:.0f}" if mbs else ""
        items_s = f"{items:,.0f}" if items else ""
        print(f"| {b['run_name']} | {mbs_s} | {items_s} |")
PY
