#!/usr/bin/env bash
# vetod's own cost per message through Postfix, for one or two vetod binaries side by side
# (interleaved A/B: the machine's load changes both alike).
#
#   bench/peers/milter_cpu.sh NEW_VETOD [OLD_VETOD]
#   REPS=5 N=2000 SESS=10 TRANSPORT=unix STRACE=1 bench/peers/milter_cpu.sh build/bin/vetod /tmp/vetod-old
#
# Per binary and round: smtp-source sends N messages over SESS sessions into a private Postfix
# (content_filter=discard:) whose smtpd has that vetod as its milter (TRANSPORT unix or inet);
# reported: msgs/s, vetod's CPU per message (utime+stime from /proc/PID/stat), the mail path's
# CPU per message (Postfix's processes + vetod + smtp-source; with no milter as the baseline,
# its ratio predicts the throughput ratio on a machine the mail path has to itself), vetod's
# context switches per message (perf stat -e context-switches on all its threads), and
# with STRACE=1 one extra round per binary under `strace -c -f` (syscalls per message; strace
# slows vetod down, so that round's speed is not reported). Medians over REPS rounds.
# Needs root (a private Postfix), 127.0.0.1 only.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
REPS=${REPS:-3}; N=${N:-2000}; SESS=${SESS:-10}; TRANSPORT=${TRANSPORT:-unix}
HERE="$root/tests/integration/daemon"
. "$HERE/lib.sh"
. "$HERE/postfix_lib.sh"
. "$root/bench/peers/milter_message.sh"
[ "$(id -u)" = 0 ] || die "needs root (a private Postfix instance)"
[ $# -ge 1 ] || die "usage: $0 NEW_VETOD [OLD_VETOD]"
BINS=("$(realpath "$1")"); NAMES=(new)
if [ $# -ge 2 ]; then BINS+=("$(realpath "$2")"); NAMES+=(old); fi

W=$(mktemp -d /tmp/veto-cpu.XXXXXX)
chmod 755 "$W"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do stop_pid "$p" 20; done
  postfix_stop
  [ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT

sed -e 's/^metrics_listen = .*/metrics_listen = ""/' -e 's/^socket_group = .*/socket_group = "postfix"/' \
  "$root/config/veto.toml" >"$W/veto.toml"
mkdir -p "$W/run"
postfix_setup "$W/pf"
ports=()
declare -A VPID PORT
for i in "${!BINS[@]}"; do
  n=${NAMES[$i]}
  if [ "$TRANSPORT" = unix ]; then
    listen="unix:$W/run/$n.sock"; milter="unix:$W/run/$n.sock"
  else
    vp=$(free_port); listen="inet:$vp@127.0.0.1"; milter="inet:127.0.0.1:$vp"
  fi
  VETOD=${BINS[$i]} start_vetod "$W/veto.toml" "$listen" "$W/vetod-$n.log"
  VPID[$n]=$VETOD_PID; PIDS+=("$VETOD_PID")
  wait_vetod "$W/vetod-$n.log"
  PORT[$n]=$(free_port)
  postfix_listener "${PORT[$n]}" "-o smtpd_milters=$milter -o content_filter=discard:"
  ports+=("${PORT[$n]}")
done
PORT[none]=$(free_port)
postfix_listener "${PORT[none]}" "-o smtpd_milters= -o content_filter=discard:"
postfix_start "${ports[@]}" "${PORT[none]}"

MSG="$W/msg.eml"
bench_message "$MSG"

send() {  # send PORT: prints seconds taken; smtp-source's own CPU ticks go to $W/client.ticks
  local t0 t1
  t0=$(date +%s%N)
  timeout 600 python3 -c '
import os, resource, subprocess, sys
rc = subprocess.call(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=open(sys.argv[1], "w"))
r = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1] + ".ticks", "w").write(str(round((r.ru_utime + r.ru_stime) * os.sysconf("SC_CLK_TCK"))))
sys.exit(rc)' "$W/smtp-source.err" /usr/sbin/smtp-source -s "$SESS" -m "$N" -F "$MSG" \
    -f sender@example.org -t user@example.test -M client.test "127.0.0.1:$1" \
    || { cat "$W/smtp-source.err" >&2; die "smtp-source on $1"; }
  cp "$W/smtp-source.err.ticks" "$W/client.ticks"
  t1=$(date +%s%N)
  python3 -c "print(($t1 - $t0) / 1e9)"
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Postfix's CPU ticks so far: the master (itself and its reaped children) and its live children.
pf_ticks() {
  awk -v m="$POSTFIX_PID" '
    FILENAME ~ "/proc/" m "/stat$" { t += $14 + $15 + $16 + $17; next }
    { sub(/^.*\) /, ""); if ($2 == m) t += $12 + $13 }
    END { print t }' /proc/[0-9]*/stat 2>/dev/null || true  # processes come and go meanwhile
}
HZ=$(getconf CLK_TCK)
have_perf=""
if perf stat -e context-switches true >/dev/null 2>&1; then have_perf=1; fi
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

declare -A tp cpu cs mail
log "warm-up"
send "${PORT[none]}" >/dev/null
for n in "${NAMES[@]}"; do send "${PORT[$n]}" >/dev/null; done
for r in $(seq 1 "$REPS"); do
  order=(none "${NAMES[@]}")
  # A/B in alternating order (the second of a pair tends to meet a warmer or busier machine).
  if [ ${#NAMES[@]} = 2 ] && [ $((r % 2)) = 0 ]; then order=(none "${NAMES[1]}" "${NAMES[0]}"); fi
  for n in "${order[@]}"; do
    p0=$(pf_ticks)
    if [ $n = none ]; then
      s=$(send "${PORT[none]}"); tp[none]+="$(python3 -c "print(round($N/$s))") "
      p1=$(pf_ticks)
      mail[none]+="$(python3 -c "print(round(($p1-$p0+$(cat "$W/client.ticks"))*1e6/$HZ/$N))") "
      continue
    fi
    pid=${VPID[$n]}
    if [ -n "$have_perf" ]; then
      perf stat -x, -e context-switches -p "$pid" -o "$W/perf-$n.txt" 2>/dev/null &
      perf_pid=$!
      sleep 0.3
    fi
    c0=$(ticks "$pid")
    s=$(send "${PORT[$n]}")
    c1=$(ticks "$pid")
    p1=$(pf_ticks)
    mail[$n]+="$(python3 -c "print(round(($p1-$p0+$c1-$c0+$(cat "$W/client.ticks"))*1e6/$HZ/$N))") "
    if [ -n "$have_perf" ]; then
      kill -INT "$perf_pid"; wait "$perf_pid" || true
      cs[$n]+="$(awk -F, -v n="$N" '/context-switches/ {printf "%.1f", $1 / n}' "$W/perf-$n.txt") "
    fi
    tp[$n]+="$(python3 -c "print(round($N/$s))") "
    cpu[$n]+="$(python3 -c "print(round(($c1-$c0)*1e6/$HZ/$N))") "
    log "  round $r $n: $(python3 -c "print(round($N/$s))") msgs/s, $(python3 -c "print(round(($c1-$c0)*1e6/$HZ/$N))") µs CPU/msg"
  done
done

echo
echo "TRANSPORT=$TRANSPORT N=$N SESS=$SESS REPS=$REPS; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
# "mail path CPU": Postfix + vetod + smtp-source CPU per message. On a machine the mail path
# has to itself and saturates, throughput is inverse to it, so none/with-vetod predicts the
# throughput ratio without the noise other load puts into msgs/s.
echo "| vetod | msgs/s (median) | vs no milter | vetod CPU µs/msg | mail path CPU µs/msg | none / this (predicted ratio) | ctx switches/msg |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
echo "| none | $(median ${tp[none]}) | — | — | $(median ${mail[none]}) | — | — |"
for n in "${NAMES[@]}"; do
  ratio=$(python3 -c "print(f'{100*$(median ${tp[$n]})/$(median ${tp[none]}):.0f}%')")
  pred=$(python3 -c "print(f'{100*$(median ${mail[none]})/$(median ${mail[$n]}):.0f}%')")
  c="—"; [ -z "${cs[$n]:-}" ] || c=$(median ${cs[$n]})
  echo "| $n | $(median ${tp[$n]}) | $ratio | $(median ${cpu[$n]}) | $(median ${mail[$n]}) | $pred | $c |"
done
echo "(raw: $(for n in none "${NAMES[@]}"; do printf '%s tp: %s cpu: %s mail: %s cs: %s; ' "$n" "${tp[$n]}" "${cpu[$n]:-}" "${mail[$n]}" "${cs[$n]:-}"; done))"

if [ -n "${STRACE:-}" ]; then
  for n in "${NAMES[@]}"; do
    strace -c -f -p "${VPID[$n]}" -o "$W/strace-$n.txt" &
    st=$!
    sleep 0.5
    send "${PORT[$n]}" >/dev/null
    sleep 0.2
    kill -INT "$st"; wait "$st" || true
    echo
    echo "strace -c -f, $n, calls per message:"
    awk -v n="$N" '$1 ~ /^[0-9.]+$/ && NF >= 5 {name=$NF; calls=$4; printf "  %-16s %6.1f\n", name, calls / n}
                   /^[0-9.]+ +[0-9.]+ +[0-9]+ +[0-9]+ +total/ {printf "  %-16s %6.1f\n", "total", $4 / n}' \
      "$W/strace-$n.txt" | sort -k2 -g -r | head -14
  done
fi
