#!/usr/bin/env bash
# Runs the benchmark suites and prints a Markdown summary table to paste into the README.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/build/bin"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$bin/email_bench" --benchmark_repetitions=${REPS:-5} --benchmark_report_aggregates_only=true \
  --benchmark_format=json >"$out"
python3 - "$out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print(f"machine: {d['context'].get('num_cpus')} cpus @ {d['context'].get('mhz_per_cpu')} MHz, "
      f"{d['context'].get('date')}")
print()
print("| benchmark (median of runs, 1 thread) | MB/s | msgs/s |")
print("| --- | ---: | ---: |")
for b in d["benchmarks"]:
    if b.get("aggregate_name") != "median":
        continue
    mbs = b.get("bytes_per_second", 0) / 1e6
    msgs = b.get("msgs/s")
    print(f"| {b['run_name']} | {mbs:.0f} | {msgs:.0f} |" if msgs else
          f"| {b['run_name']} | {mbs:.0f} | |")
PY
