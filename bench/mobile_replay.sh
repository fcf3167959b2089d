#!/usr/bin/env bash
# SMS replay throughput, file -> file, as an operator runs it: `veto sms replay` with the bundled
# rules, the bundled SMS classifier, the behaviour signals and the policy, consent on for every
# recipient (the lab setting, so content rules and the classifier count). Two feeds of
# ~1,000,000 records made from the SMS dev corpus repeated 225 times, in a temporary directory:
#   feed.jsonl  with synthetic senders (50,000), recipients (1,000,000), times and ids
#   feed.tsv    label<TAB>text only (no sender: no behaviour counters)
# For each feed and 1 and 2 worker threads: the median of RUNS runs of wall-clock msgs/s and of
# CPU time per message (user + system, whole process: reader, workers, writer, start-up), then
# one --threads 1 --profile run per feed for the stage shares.
#
#   bench/mobile_replay.sh [RUNS]        (default 3; prints a Markdown table)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
veto="$root/build/bin/veto"
corpus="$root/../shared/corpora/sms/sms_spam_collection_dev.tsv"
runs=${1:-3}
[ -r "$corpus" ] || { echo "mobile_replay: corpus absent: $corpus" >&2; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 - "$corpus" "$tmp" <<'PY'
import json, sys
lines = [l for l in open(sys.argv[1], encoding="utf-8", errors="surrogateescape").read().split("\n") if l]
n = 0
with open(f"{sys.argv[2]}/feed.jsonl", "w", encoding="utf-8", errors="surrogateescape") as j, \
     open(f"{sys.argv[2]}/feed.tsv", "w", encoding="utf-8", errors="surrogateescape") as t:
    for rep in range(225):
        for l in lines:
            n += 1
            label, _, text = l.partition("\t")
            j.write('{"id":%d,"sender":"+4477%d","recipient":"+4479%d","time":%d,"label":"%s","text":%s}\n'
                    % (n, 10000000 + (n * 7919) % 50000, 10000000 + (n * 104729) % 1000000,
                       1714557600 + n // 100, label, json.dumps(text, ensure_ascii=False)))
            t.write(l + "\n")
PY
printf '[operator.consent]\ndefault = true\n' > "$tmp/lab.toml"

median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

echo "| feed | threads | msgs/s wall (median of $runs) | CPU µs per message | runs (msgs/s) |"
echo "| --- | ---: | ---: | ---: | --- |"
for fmt in jsonl tsv; do
  for t in 1 2; do
    rates=(); cpus=()
    for _ in $(seq "$runs"); do
      out=$( { /usr/bin/time -f "CPU %U %S" "$veto" sms replay --config "$tmp/lab.toml" \
                 --threads "$t" --no-progress --out "$tmp/verdicts.jsonl" "$tmp/feed.$fmt"; } 2>&1 )
      n=$(sed -n 's/^replay: \([0-9]*\) verdicts.*/\1/p' <<<"$out")
      rates+=("$(sed -n 's/.*(\([0-9]*\) msgs\/s.*/\1/p' <<<"$out")")
      cpus+=("$(awk -v n="$n" '/^CPU/ {printf "%.2f", ($2 + $3) * 1e6 / n}' <<<"$out")")
    done
    echo "| $fmt | $t | $(printf '%s\n' "${rates[@]}" | median) | $(printf '%s\n' "${cpus[@]}" | median) | ${rates[*]} |"
  done
done
echo
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for fmt in jsonl tsv; do
  echo "$fmt, --threads 1 --profile: $("$veto" sms replay --config "$tmp/lab.toml" --threads 1 \
    --profile --no-progress --out "$tmp/verdicts.jsonl" "$tmp/feed.$fmt" 2>&1 |
    sed -n 's/^stages[^:]*: //p')"
done
