#!/usr/bin/env bash
# Runs the benchmark suites and prints a Markdown summary table to paste into the README.
# rules_bench needs Debian's spamassassin rules and compiles them on its first run (minutes;
# cached in build/rule-cache afterwards).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/build/bin"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
report="$root/build/bench-report"
mkdir -p "$report"
for b in email_bench policy_bench rules_bench classifiers_bench mobile_bench; do
  [ -x "$bin/$b" ] || continue
  if [ "$b" = rules_bench ] && [ ! -f /usr/share/spamassassin/50_scores.cf ]; then
    echo "bench: skipping rules_bench (install Debian's spamassassin for the stock rules)" >&2
    continue
  fi
  echo "bench: $b" >&2
  "$bin/$b" --benchmark_repetitions=${REPS:-5} --benchmark_report_aggregates_only=true \
    --benchmark_format=json >"$tmp/$b.json"
done
python3 - "$tmp"/*_bench.json <<'PY'
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

# End to end: `veto bench` over the dev corpus in memory, 1 and 2 threads.
corpus="$root/../shared/corpora/email"
if [ -f "$corpus/spamassassin_dev_ham.tar.gz" ]; then
  echo
  echo "| veto bench email (dev corpus, bundled rules, median of 3) | msgs/s | MB/s | p50 µs | p99 µs | normalise % | match % | classify % | policy % |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for t in 1 2; do
    "$bin/veto" bench email --threads $t --json "$corpus"/spamassassin_dev_*.tar.gz | python3 -c '
import json, sys
d = json.load(sys.stdin); s = d["stage_share_percent"]; l = d["latency_us"]
cells = [str(d["threads"]) + " thread(s)", f"{d['"'"'msgs_per_s'"'"']:,.0f}", f"{d['"'"'mb_per_s'"'"']:.1f}",
         f"{l['"'"'p50'"'"']:.0f}", f"{l['"'"'p99'"'"']:.0f}"] + [f"{s[k]:.0f}" for k in ("normalise", "match", "classify", "policy")]
print("| " + " | ".join(cells) + " |")'
  done
else
  echo "bench: skipping veto bench (no ../shared/corpora)" >&2
fi

# Scaling: message size and rule count, plotted.
if [ -x "$bin/scaling_bench" ]; then
  echo "bench: scaling_bench" >&2
  "$bin/scaling_bench" --benchmark_format=json >"$report/scaling.json"
  python3 "$root/scripts/plot_scaling.py" "$report/scaling.json" "$report/scaling.svg"
  echo
  echo "Scaling plot: $report/scaling.svg"
fi
