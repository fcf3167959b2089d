#!/usr/bin/env bash
# veto vs SpamAssassin 4.0.1, end to end, same stock rules, same messages, same run.
#
# Runs SpamAssassin itself (Perl API, local tests only — what spamd -L does per message: parse,
# check, finish; bench/peers/sa_cpu.pl) and `veto scan --no-default-rules --rules
# /usr/share/spamassassin` (parse, match, score) over one sample of the dev corpus, and prints
# a Markdown table: messages per CPU-second of each, their ratio, veto's cold compile and warm
# load of the stock set, database and scratch bytes. CPU seconds are user+system of the
# process (getrusage), so a loaded machine changes wall time but hardly the figures.
#
# Usage: bench/peers/sa_ratio.sh [VETO_BINARY] [STEP] [REPEAT]
#   STEP    take every STEP-th message of each tarball (default 10: 325 messages)
#   REPEAT  veto scans the sample REPEAT times in one process (default 20), so its
#           steady-state cost is not lost in the start-up; start-up is reported apart.
# Exit 77 (skipped) when SpamAssassin or the corpus is absent.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VETO="${1:-$ROOT/build/bin/veto}"
STEP="${2:-10}"
REPEAT="${3:-20}"
CORPUS="$ROOT/../shared/corpora/email"
STOCK=/usr/share/spamassassin

if ! perl -MMail::SpamAssassin -e1 2>/dev/null || [ ! -f "$STOCK/50_scores.cf" ]; then
  echo "skipped: SpamAssassin (Debian package spamassassin) is not installed"; exit 77
fi
if [ ! -f "$CORPUS/spamassassin_dev_ham.tar.gz" ]; then
  echo "skipped: corpus not found at $CORPUS"; exit 77
fi
[ -x "$VETO" ] || { echo "no veto binary at $VETO (run make)" >&2; exit 1; }

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/all" "$TMP/sample" "$TMP/empty"
for t in spamassassin_dev_ham spamassassin_dev_spam; do
  mkdir -p "$TMP/all/$t"
  tar -xzf "$CORPUS/$t.tar.gz" -C "$TMP/all/$t"
  find "$TMP/all/$t" -type f | LC_ALL=C sort | awk -v s="$STEP" 'NR % s == 1' |
    while read -r f; do cp "$f" "$TMP/sample/${t}_$(basename "$f")"; done
done
N=$(find "$TMP/sample" -type f | wc -l)

# cpu CMD...: runs CMD, stdout to $TMP/out, prints "wall cpu" (seconds).
cpu() {
  /usr/bin/time -f "%e %U %S" -o "$TMP/time" "$@" > "$TMP/out" 2> "$TMP/err" || {
    cat "$TMP/err" >&2; return 1; }
  awk '{printf "%.3f %.3f\n", $1, $2 + $3}' "$TMP/time"
}
RULES=(--no-default-rules --rules "$STOCK" --cache-dir "$TMP/cache")

read -r cold_wall cold_cpu < <(cpu "$VETO" compile "${RULES[@]}")
cold_engine=$(sed -n 's/.*; compile \([0-9.]*\) s;.*/\1/p' "$TMP/err" "$TMP/out" | head -1)
read -r warm_wall warm_cpu < <(cpu "$VETO" compile "${RULES[@]}")
warm_engine=$(sed -n 's/.*; compile \([0-9.]*\) s;.*/\1/p' "$TMP/err" "$TMP/out" | head -1)
db_mb=$(sed -n 's/.*databases: [0-9]* ([0-9]* from cache), \([0-9.]*\) MB.*/\1/p' "$TMP/err" "$TMP/out" | head -1)
scratch=$(sed -n 's/.*scratch: \([0-9]*\) bytes.*/\1/p' "$TMP/err" "$TMP/out" | head -1)

read -r start_wall start_cpu < <(cpu "$VETO" scan "${RULES[@]}" --format jsonl "$TMP/empty")
read -r one_wall one_cpu < <(cpu "$VETO" scan "${RULES[@]}" --format jsonl "$TMP/sample")
scanned=$(wc -l < "$TMP/out")
dirs=()
for ((i = 0; i < REPEAT; i++)); do dirs+=("$TMP/sample"); done
read -r rep_wall rep_cpu < <(cpu "$VETO" scan "${RULES[@]}" --format jsonl "${dirs[@]}")
rep_scanned=$(wc -l < "$TMP/out")

perl "$ROOT/bench/peers/sa_cpu.pl" "$TMP"/sample/* > "$TMP/sa"
sa_init=$(awk '$1=="init_cpu"{print $2}' "$TMP/sa")
sa_scan=$(awk '$1=="scan_cpu"{print $2}' "$TMP/sa")
sa_n=$(awk '$1=="messages"{print $2}' "$TMP/sa")

python3 - "$N" "$scanned" "$rep_scanned" "$REPEAT" "$start_cpu" "$one_cpu" "$rep_cpu" \
  "$sa_init" "$sa_scan" "$sa_n" "$cold_wall" "$cold_cpu" "$cold_engine" "$warm_wall" \
  "$warm_cpu" "$warm_engine" "$db_mb" "$scratch" <<'PY'
import sys
(n, scanned, rep_scanned, repeat, start_cpu, one_cpu, rep_cpu, sa_init, sa_scan, sa_n,
 cold_wall, cold_cpu, cold_engine, warm_wall, warm_cpu, warm_engine, db_mb, scratch) = sys.argv[1:]
n, scanned, rep_scanned, sa_n = int(n), int(scanned), int(rep_scanned), int(sa_n)
f = lambda x: float(x) if x else float("nan")
start_cpu, one_cpu, rep_cpu, sa_init, sa_scan = map(f, (start_cpu, one_cpu, rep_cpu, sa_init, sa_scan))
veto_steady = rep_scanned / max(rep_cpu - start_cpu, 1e-9)
veto_one = scanned / max(one_cpu, 1e-9)
sa_rate = sa_n / max(sa_scan, 1e-9)
print(f"sample: {n} messages of the SpamAssassin dev corpus; veto scanned {scanned}, SpamAssassin {sa_n}")
print()
print("| what | CPU s | messages | messages per CPU-second |")
print("| --- | ---: | ---: | ---: |")
print(f"| SpamAssassin 4.0.1 (parse + check, rules loaded once; init {sa_init:.1f} s apart) | {sa_scan:.2f} | {sa_n} | {sa_rate:.1f} |")
print(f"| veto scan, steady state ({repeat}x the sample in one process, start-up subtracted) | {rep_cpu - start_cpu:.2f} | {rep_scanned} | {veto_steady:.0f} |")
print(f"| veto scan, one pass including start-up ({start_cpu:.2f} s: rule files + cache) | {one_cpu:.2f} | {scanned} | {veto_one:.0f} |")
print()
print(f"ratio veto/SpamAssassin, messages per CPU-second: steady state **{veto_steady / sa_rate:.0f}x**, "
      f"one pass including start-up {veto_one / sa_rate:.0f}x")
print()
print("| stock rule set (veto) | wall s | CPU s | engine s |")
print("| --- | ---: | ---: | ---: |")
print(f"| cold compile (`veto compile`, empty cache) | {f(cold_wall):.2f} | {f(cold_cpu):.2f} | {f(cold_engine):.2f} |")
print(f"| warm load (`veto compile`, from the cache) | {f(warm_wall):.2f} | {f(warm_cpu):.2f} | {f(warm_engine):.3f} |")
print()
print(f"databases {db_mb} MB, scratch {scratch} bytes per thread")
PY
