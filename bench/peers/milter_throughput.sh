#!/usr/bin/env bash
# Postfix throughput and added latency with vetod as its milter, against Postfix alone and
# (when installed) rspamd's milter, all in one run on one private Postfix instance.
#
#   bench/peers/milter_throughput.sh [build/bin/vetod]
#   REPS=5 N=3000 SESS=10 RATE=50 SECS=20 bench/peers/milter_throughput.sh
#
# - throughput: smtp-source (from the postfix package) sends N messages over SESS parallel
#   sessions into listeners with content_filter=discard: (queued, then dropped: the milter
#   and smtpd/cleanup are what is measured, not delivery) — no milter, vetod over a unix
#   socket, vetod over inet, rspamd's milter; REPS rounds, interleaved, medians reported.
# - latency: one connection at a steady RATE msgs/s for SECS seconds; the time from the final
#   "." to the reply (where Postfix's cleanup runs the milter's header/body/eom steps);
#   p50/p99 per listener, and the difference to no milter.
# - Nagle: the same latency against a second vetod with daemon.tcp_nodelay = false.
# The message is a 2.3 KB ham with a few spam phrases (the rules do real work).
# Needs root (a private Postfix), 127.0.0.1 only. Prints a Markdown table.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
VETOD=$(realpath "${1:-$root/build/bin/vetod}")
REPS=${REPS:-3}; N=${N:-2000}; SESS=${SESS:-10}; RATE=${RATE:-50}; SECS=${SECS:-20}
HERE="$root/tests/integration/daemon"
. "$HERE/lib.sh"
. "$HERE/postfix_lib.sh"
. "$root/bench/peers/milter_message.sh"
[ "$(id -u)" = 0 ] || die "needs root (a private Postfix instance)"
[ -x /usr/sbin/smtp-source ] || die "smtp-source missing (postfix package)"

W=$(mktemp -d /tmp/veto-bench.XXXXXX)
chmod 755 "$W"
PIDS=() RSPAMD_PID="" PF=""
cleanup() {
  local w=()
  for p in "${PIDS[@]}"; do stop_pid "$p" 20 & w+=($!); done
  if [ -n "$RSPAMD_PID" ]; then stop_pid "$RSPAMD_PID" 10 & w+=($!); fi
  wait "${w[@]}"
  postfix_stop
  [ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT

# vetod with the bundled defaults, but no metrics port (make run may hold it) and a socket
# group Postfix can use.
sed -e 's/^metrics_listen = .*/metrics_listen = ""/' -e 's/^socket_group = .*/socket_group = "postfix"/' \
  "$root/config/veto.toml" >"$W/veto.toml"
sed -e 's/^tcp_nodelay = .*/tcp_nodelay = false/' "$W/veto.toml" >"$W/nagle.toml"
mkdir -p "$W/run"
V_INET=$(free_port); V_NAGLE=$(free_port)
start_vetod "$W/veto.toml" "unix:$W/run/veto.sock" "$W/vetod-unix.log"; PIDS+=($VETOD_PID)
start_vetod "$W/veto.toml" "inet:$V_INET@127.0.0.1" "$W/vetod-inet.log"; PIDS+=($VETOD_PID)
start_vetod "$W/nagle.toml" "inet:$V_NAGLE@127.0.0.1" "$W/vetod-nagle.log"; PIDS+=($VETOD_PID)
for l in unix inet nagle; do wait_vetod "$W/vetod-$l.log"; done

# rspamd's milter, network checks off, when installed.
RSPAMD=""
if command -v rspamd >/dev/null && [ -z "${NO_RSPAMD:-}" ]; then
  R_PORT=$(free_port); R_CTL=$(free_port); R_NORM=$(free_port)
  mkdir -p "$W/rspamd/local.d" "$W/rspamd/db" "$W/rspamd/run"
  chown -R _rspamd "$W/rspamd/db" "$W/rspamd/run" 2>/dev/null || true
  cat >"$W/rspamd/local.d/worker-proxy.inc" <<EOF
milter = yes;
bind_socket = "127.0.0.1:$R_PORT";
timeout = 120s;
upstream "local" { default = yes; self_scan = yes; }
count = 1;
EOF
  cat >"$W/rspamd/local.d/worker-controller.inc" <<EOF
bind_socket = "127.0.0.1:$R_CTL";
EOF
  cat >"$W/rspamd/local.d/worker-normal.inc" <<EOF
enabled = false;
EOF
  cat >"$W/rspamd/local.d/worker-fuzzy.inc" <<EOF
enabled = false;
EOF
  cat >"$W/rspamd/local.d/options.inc" <<EOF
dns { nameserver = ["127.0.0.1:1"]; timeout = 0.1s; retransmits = 1; }
local_addrs = [];
EOF
  # Modules that would query DNS or the network: off.
  for m in rbl surbl phishing fuzzy_check dkim dkim_signing arc dmarc spf asn emails \
           url_reputation neural ratelimit replies history_redis greylist dcc razor \
           elastic clickhouse metadata_exporter mx_check rspamd_update; do
    echo "enabled = false;" >"$W/rspamd/local.d/$m.conf"
  done
  # The stock config reads /etc/rspamd; LOCAL_CONFDIR points local.d at ours.
  rspamd -f -u _rspamd -g _rspamd -c /etc/rspamd/rspamd.conf \
    --var="LOCAL_CONFDIR=$W/rspamd" --var="DBDIR=$W/rspamd/db" --var="RUNDIR=$W/rspamd/run" \
    --var="LOGDIR=$W/rspamd" >"$W/rspamd.log" 2>&1 &
  RSPAMD_PID=$!
  if wait_for 60 port_open "$R_PORT"; then RSPAMD=1; else
    echo "rspamd did not open its milter port; leaving it out" >&2; tail -5 "$W/rspamd.log" >&2
    stop_pid "$RSPAMD_PID" 10; RSPAMD_PID=""
  fi
fi

P_NONE=$(free_port); P_UNIX=$(free_port); P_INET=$(free_port); P_NAGLE=$(free_port); P_RSPAMD=$(free_port)
postfix_setup "$W/pf"
postfix_listener "$P_NONE" "-o smtpd_milters= -o content_filter=discard:"
postfix_listener "$P_UNIX" "-o smtpd_milters=unix:$W/run/veto.sock -o content_filter=discard:"
postfix_listener "$P_INET" "-o smtpd_milters=inet:127.0.0.1:$V_INET -o content_filter=discard:"
postfix_listener "$P_NAGLE" "-o smtpd_milters=inet:127.0.0.1:$V_NAGLE -o content_filter=discard:"
ports=("$P_NONE" "$P_UNIX" "$P_INET" "$P_NAGLE")
if [ -n "$RSPAMD" ]; then
  postfix_listener "$P_RSPAMD" "-o smtpd_milters=inet:127.0.0.1:$R_PORT -o content_filter=discard:"
  ports+=("$P_RSPAMD")
fi
postfix_start "${ports[@]}"

# The message: ordinary prose with a few spam phrases, 2.3 KB (milter_message.sh).
MSG="$W/msg.eml"
bench_message "$MSG"

throughput() {  # throughput PORT: msgs/s for N messages
  local t0 t1
  t0=$(date +%s%N)
  timeout 600 /usr/sbin/smtp-source -s "$SESS" -m "$N" -F "$MSG" -f sender@example.org \
    -t user@example.test -M client.test "127.0.0.1:$1" >/dev/null 2>"$W/smtp-source.err" \
    || { cat "$W/smtp-source.err" >&2; die "smtp-source on $1"; }
  t1=$(date +%s%N)
  python3 -c "print(round($N / (($t1 - $t0) / 1e9), 1))"
}
cpu_ms() {  # cpu_ms PID: user+system CPU time so far, in ms
  awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) * 1000 / hz}' "/proc/$1/stat"
}
# vetod's own end-of-message → reply times (the log's ms=) of lines FROM..end of LOG.
vetod_ms() {  # vetod_ms LOG FROM_LINE
  tail -n +"$2" "$1" | sed -n 's/.* ms=\([0-9.]*\)$/\1/p' | sort -g |
    awk '{a[NR]=$1} END { if (NR==0) {print "- -"; exit}
         i50=int(0.50*(NR-1))+1; i99=int(0.99*(NR-1))+1; printf "%.2f %.2f\n", a[i50], a[i99] }'
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

names=(none unix inet); tports=("$P_NONE" "$P_UNIX" "$P_INET")
if [ -n "$RSPAMD" ]; then names+=(rspamd); tports+=("$P_RSPAMD"); fi
declare -A runs
log "throughput: $REPS rounds x ${#names[@]} listeners, $N messages each, $SESS sessions"
throughput "$P_NONE" >/dev/null   # warm-up (Postfix processes, vetod scratch)
VPID_UNIX=${PIDS[0]}; VPID_INET=${PIDS[1]}
declare -A cpu
for r in $(seq 1 "$REPS"); do
  for i in "${!names[@]}"; do
    c0_u=$(cpu_ms "$VPID_UNIX"); c0_i=$(cpu_ms "$VPID_INET")
    v=$(throughput "${tports[$i]}")
    c1_u=$(cpu_ms "$VPID_UNIX"); c1_i=$(cpu_ms "$VPID_INET")
    runs[${names[$i]}]+="$v "
    case ${names[$i]} in
      unix) cpu[unix]+="$(python3 -c "print(round(($c1_u-$c0_u)*1000/$N))") " ;;
      inet) cpu[inet]+="$(python3 -c "print(round(($c1_i-$c0_i)*1000/$N))") " ;;
    esac
    log "  round $r ${names[$i]}: $v msgs/s"
  done
done

log "latency: $RATE msgs/s for $SECS s per listener"
lnames=(none unix inet nagle); lports=("$P_NONE" "$P_UNIX" "$P_INET" "$P_NAGLE")
if [ -n "$RSPAMD" ]; then lnames+=(rspamd); lports+=("$P_RSPAMD"); fi
declare -A lat vms
for i in "${!lnames[@]}"; do
  n=${lnames[$i]}
  vlog="$W/vetod-$n.log"; from=1
  [ -f "$vlog" ] && from=$(( $(wc -l <"$vlog") + 1 ))
  lat[$n]=$(python3 "$root/bench/peers/smtp_latency.py" --port "${lports[$i]}" \
    --rate "$RATE" --seconds "$SECS" --message "$MSG")
  [ -f "$vlog" ] && vms[$n]=$(vetod_ms "$vlog" "$from")
  log "  $n: ${lat[$n]}${vms[$n]:+ vetod eom→reply p50/p99 ms: ${vms[$n]}}"
done

scanned=$(cat "$W"/vetod-{unix,inet}.log | grep -c " action=" || true)
j() { python3 -c "import json,sys; print(json.loads(sys.argv[1])['$2'])" "$1"; }
none_tp=$(median ${runs[none]})
none50=$(j "${lat[none]}" p50_ms); none99=$(j "${lat[none]}" p99_ms)
echo
echo "Postfix 3.7 + smtp-source, $N msgs x $REPS rounds, $SESS sessions, 2.3 KB message; latency at $RATE msgs/s, one connection"
echo
echo "| milter | throughput (median msgs/s) | vs no milter | end-of-data p50 | p99 | added p50 | added p99 | vetod eom→reply p50 / p99 |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for name in none unix inet nagle rspamd; do
  [ -n "${lat[$name]:-}" ] || continue
  label=$name
  case $name in none) label="none (Postfix alone)";; unix) label="vetod, unix socket";;
    inet) label="vetod, inet (TCP_NODELAY)";; nagle) label="vetod, inet, tcp_nodelay = false";;
    rspamd) label="rspamd 3.4 milter (network checks off)";; esac
  tp="—"; ratio="—"
  if [ -n "${runs[$name]:-}" ]; then
    tp=$(median ${runs[$name]})
    ratio=$(python3 -c "print(f'{100*$tp/$none_tp:.0f}%')")
  fi
  p50=$(j "${lat[$name]}" p50_ms); p99=$(j "${lat[$name]}" p99_ms)
  a50=$(python3 -c "print(f'{$p50-$none50:+.2f} ms')"); a99=$(python3 -c "print(f'{$p99-$none99:+.2f} ms')")
  [ $name = none ] && { a50="—"; a99="—"; }
  v="—"; [ -z "${vms[$name]:-}" ] || v="$(echo ${vms[$name]} | awk '{print $1 " / " $2 " ms"}')"
  echo "| $label | $tp | $ratio | $p50 ms | $p99 ms | $a50 | $a99 | $v |"
done
echo
echo "(raw throughput runs: $(for n in "${names[@]}"; do printf '%s: %s; ' "$n" "${runs[$n]}"; done))"
echo "(vetod scanned $scanned messages in the throughput and latency runs; its CPU per message in the throughput runs, µs: unix ${cpu[unix]:-}; inet ${cpu[inet]:-})"
