#!/usr/bin/env bash
# Side by side with the peers: the same corpus through veto, SpamAssassin (spamd + spamc) and
# rspamd (rspamd + rspamc) in one run, on this machine, with every network check off; prints
# messages per CPU-second of each engine and the ratios as a Markdown table.
#
#   bench/peers/scan_peers.sh [--reps N] [--sa-reps N] [--keep] [CORPUS_DIR]
#
#   CORPUS_DIR   a directory of RFC 5322 messages, one per file (recursive). Default: the
#                SpamAssassin dev corpus (../shared/corpora/email/spamassassin_dev_{ham,spam}
#                .tar.gz), unpacked into a temporary directory.
#   --reps N     timed passes of veto and rspamd over the corpus (default 3; the pass with the
#                median CPU time is reported)
#   --sa-reps N  timed passes of SpamAssassin (default 1: one pass costs minutes of CPU)
#   --keep       keep the temporary directory (daemon configs, logs, outputs) for inspection
#
# Ports (all on 127.0.0.1, override with the environment): PEERS_SPAMD_PORT (27830),
# PEERS_RSPAMD_PORT (27833, the normal worker), PEERS_RSPAMD_CONTROLLER_PORT (27834),
# PEERS_DNS_PORT (27853, a stub resolver that refuses every query and counts them).
#
# What is counted (CPU seconds = user + system):
#   veto          the `veto scan` process itself, via wait4() rusage (all its threads). It
#                 includes process start-up, loading the compiled rules from the warm cache,
#                 reading the files and writing the JSONL results. `veto compile` is run
#                 first (not counted) so that the cache is warm, as a running server's is.
#   SpamAssassin  the spamd parent and all its children (the pre-forked scanners), from
#                 /proc/PID/stat: utime+stime+cutime+cstime summed over the live process tree
#                 before and after the pass (cutime/cstime keep the CPU of reaped children).
#                 Not counted: the spamc clients, and spamd's start-up (rule compilation)
#                 and warm-up messages, which happen before the "before" reading.
#   rspamd        the same over the rspamd main process and all its workers (normal workers,
#                 controller, hs_helper). Not counted: rspamc, start-up and the Hyperscan
#                 compilation (the script waits until the daemon is idle), warm-up messages.
# Wall seconds are the elapsed time of each pass (clients included). The machine is shared,
# so wall time is noisy; CPU seconds are the figure to compare.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
here="$root/bench/peers"
peers() { python3 "$here/peers.py" "$@"; }
veto="$root/build/bin/veto"
cache="$root/build/rule-cache"
report="$root/build/peers-report"

orig_args="$*"
reps=3
sa_reps=1
keep=0
corpus=""
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps=$2; shift 2 ;;
    --sa-reps) sa_reps=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,38p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "scan_peers: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) corpus=$1; shift ;;
  esac
done
case "$reps$sa_reps" in *[!0-9]*) echo "scan_peers: --reps/--sa-reps need a number" >&2; exit 2 ;; esac
[ "$reps" -ge 1 ] && [ "$sa_reps" -ge 1 ] || { echo "scan_peers: reps must be >= 1" >&2; exit 2; }

spamd_port=${PEERS_SPAMD_PORT:-27830}
rspamd_port=${PEERS_RSPAMD_PORT:-27833}
ctrl_port=${PEERS_RSPAMD_CONTROLLER_PORT:-27834}
dns_port=${PEERS_DNS_PORT:-27853}
ncpu=$(nproc)

log() { echo "scan_peers: $*" >&2; }
die() { echo "scan_peers: error: $*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------
# 1. Debian packages: spamassassin (rules), spamd + spamc (daemon, client), rspamd.
# ---------------------------------------------------------------------------------------
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
missing=()
for p in spamassassin spamd spamc rspamd; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || die "missing Debian packages ${missing[*]}; install them as root (apt-get install ${missing[*]})"
  log "installing ${missing[*]}"
  # Keep the packages' maintainer scripts from starting system services: a policy-rc.d that
  # denies every start, only for this install and only if the system has none of its own.
  policy=/usr/sbin/policy-rc.d
  made_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && made_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  rc=0
  { apt-get install -y -q --no-install-recommends "${missing[@]}" ||
    { apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; }; } || rc=$?
  [ "$made_policy" -eq 1 ] && rm -f "$policy"
  [ "$rc" -eq 0 ] || die "apt-get install ${missing[*]} failed"
  # Whatever a package started anyway (systemd ignores nothing here, but be sure): stop and
  # disable the system services of the packages installed now, never anything else.
  for p in "${missing[@]}"; do
    case "$p" in rspamd|spamd) ;; *) continue ;; esac
    if [ -d /run/systemd/system ]; then
      systemctl stop "$p" >/dev/null 2>&1 || true
      systemctl disable "$p" >/dev/null 2>&1 || true
    elif [ -x "/etc/init.d/$p" ]; then
      "/etc/init.d/$p" stop >/dev/null 2>&1 || true
    fi
  done
fi
for p in rspamd spamd; do
  if pgrep -x "$p" >/dev/null 2>&1 || pgrep -f "^/usr/bin/perl -T -w /usr/sbin/$p" >/dev/null 2>&1 ||
     pgrep -f "^$p: main process" >/dev/null 2>&1; then
    log "note: a $p not started by this script is running; it is left alone (its load adds noise)"
  fi
done
for b in spamd spamc rspamd rspamc; do command -v "$b" >/dev/null || die "$b not found after install"; done
[ -f /usr/share/spamassassin/50_scores.cf ] || die "no stock SpamAssassin rules in /usr/share/spamassassin"
[ -x "$veto" ] || die "no $veto; build first (make build)"

for p in "$spamd_port" "$rspamd_port" "$ctrl_port" "$dns_port"; do
  peers free-port "$p" || die "127.0.0.1:$p is in use; choose other ports with PEERS_*_PORT"
done

# ---------------------------------------------------------------------------------------
# Temporary directory, cleanup, process helpers.
# ---------------------------------------------------------------------------------------
tmp=$(mktemp -d /tmp/veto-peers.XXXXXX)
chmod 755 "$tmp"
dns_pid="" rspamd_pid="" spamd_pid=""

alive() {  # running and not a zombie
  local st
  st=$(sed -n 's/^[^)]*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}

stop() {  # stop PID NAME: TERM, up to 20 s, then KILL what is left of its tree
  local pid=$1 name=$2 tree i
  [ -n "$pid" ] || return 0
  tree=$(peers pids "$pid" 2>/dev/null || true)
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 100); do alive "$pid" || break; sleep 0.2; done
  for p in $tree; do
    if alive "$p"; then
      log "$name: process $p still running after 20 s; killing it"
      kill -KILL "$p" 2>/dev/null || true
    fi
  done
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop "$spamd_pid" spamd
  stop "$rspamd_pid" rspamd
  stop "$dns_pid" dns-stub
  if [ "$keep" -eq 1 ]; then log "kept $tmp"; else rm -rf "$tmp"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

tail_log() {  # tail_log FILE...: the last lines of a daemon's logs, for an error message
  local f
  for f in "$@"; do
    [ -s "$f" ] || continue
    echo "---- last lines of $f ----" >&2
    tail -n 25 "$f" >&2
  done
}

wait_ready() {  # wait_ready NAME PID PORT SECONDS LOG...: port open, then idle CPU
  local name=$1 pid=$2 port=$3 secs=$4 i c0 c1
  shift 4
  for i in $(seq "$secs"); do
    alive "$pid" || { tail_log "$@"; die "$name exited during start-up (see its log above)"; }
    if peers wait-port "$port" 1 2>/dev/null; then break; fi
    [ "$i" -lt "$secs" ] || { tail_log "$@"; die "$name did not listen on 127.0.0.1:$port within $secs s"; }
  done
  # Start-up work (rule compilation, rspamd's Hyperscan compile in hs_helper) must be over
  # before the "before" CPU reading: wait until the whole tree uses < 0.15 CPU-s in 3 s.
  for i in $(seq $((secs / 3 + 1))); do
    c0=$(peers cpu "$pid")
    sleep 3
    alive "$pid" || { tail_log "$@"; die "$name exited during start-up (see its log above)"; }
    c1=$(peers cpu "$pid")
    if python3 -c "import sys; sys.exit(0 if $c1 - $c0 < 0.15 else 1)"; then return 0; fi
  done
  tail_log "$@"
  die "$name still busy after $secs s of start-up"
}

jget() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
fsub() { python3 -c 'import sys; print(f"{float(sys.argv[1]) - float(sys.argv[2]):.3f}")' "$1" "$2"; }
dns_count() { wc -l <"$tmp/dns.log" | tr -d ' '; }

# ---------------------------------------------------------------------------------------
# Corpus.
# ---------------------------------------------------------------------------------------
if [ -z "$corpus" ]; then
  src="$root/../shared/corpora/email"
  [ -f "$src/spamassassin_dev_ham.tar.gz" ] && [ -f "$src/spamassassin_dev_spam.tar.gz" ] ||
    die "no corpus given and $src/spamassassin_dev_{ham,spam}.tar.gz absent"
  corpus="$tmp/corpus"
  mkdir -p "$corpus"
  tar -xzf "$src/spamassassin_dev_ham.tar.gz" -C "$corpus"
  tar -xzf "$src/spamassassin_dev_spam.tar.gz" -C "$corpus"
  corpus_desc="SpamAssassin dev corpus (spamassassin_dev_ham + _spam)"
else
  [ -d "$corpus" ] || die "$corpus is not a directory"
  corpus=$(cd "$corpus" && pwd)
  corpus_desc="$corpus"
fi
find "$corpus" -type f -print0 | sort -z >"$tmp/files"
nmsg=$(tr -cd '\0' <"$tmp/files" | wc -c)
[ "$nmsg" -gt 0 ] || die "no files in $corpus"
mbytes=$(xargs -0 cat <"$tmp/files" | wc -c)
log "corpus: $nmsg messages, $((mbytes / 1024)) KiB ($corpus_desc)"
chmod -R a+rX "$corpus" 2>/dev/null || true

runs="$tmp/runs"
mkdir -p "$runs" "$report"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------------------
# DNS stub: both daemons' resolvers point here; every query is refused and logged.
# ---------------------------------------------------------------------------------------
python3 "$here/peers.py" dns-stub "$dns_port" "$tmp/dns.log" 2>"$tmp/dns-stub.err" &
dns_pid=$!
for i in $(seq 50); do [ -e "$tmp/dns.log" ] && break; sleep 0.1; done
alive "$dns_pid" || { tail_log "$tmp/dns-stub.err"; die "DNS stub did not start on 127.0.0.1:$dns_port"; }

# ---------------------------------------------------------------------------------------
# 2. veto: stock SpamAssassin rules only, then its bundled rules; warm cache first.
# ---------------------------------------------------------------------------------------
run_veto() {  # run_veto KEY LABEL RULE-OPTIONS...
  local key=$1 label=$2 r
  shift 2
  log "$label: filling the rule cache (veto compile; not counted)"
  "$veto" compile --cache-dir "$cache" "$@" >"$tmp/$key.compile.log" 2>&1 ||
    { tail_log "$tmp/$key.compile.log"; die "veto compile failed"; }
  # The fixed cost of one process (start-up, loading the cached databases), for the notes.
  peers run "$tmp/$key.startup.rusage" "$veto" scan --cache-dir "$cache" "$@" --format jsonl \
    "$(head -z -n 1 "$tmp/files" | tr -d '\0')" >/dev/null 2>&1 || die "veto scan failed"
  printf -- '- %s: one `veto scan` of a single message costs %.2f CPU-s (start-up and loading the cached rules; included in the pass figures)\n' \
    "$label" "$(jget "$tmp/$key.startup.rusage" cpu)" >>"$tmp/notes"
  for r in $(seq "$reps"); do
    log "$label: pass $r/$reps"
    peers run "$tmp/$key.$r.rusage" "$veto" scan --cache-dir "$cache" "$@" --format jsonl "$corpus" \
      >"$tmp/$key.out" 2>"$tmp/$key.err" || { tail_log "$tmp/$key.err"; die "veto scan failed"; }
    peers record "$runs/$key.$r.json" "$key" "$label" veto "$(jget "$tmp/$key.$r.rusage" cpu)" \
      "$(jget "$tmp/$key.$r.rusage" wall)" "$tmp/$key.out" -1
  done
}
run_veto veto_sa "veto (stock SA rules)" --no-default-rules --rules /usr/share/spamassassin
run_veto veto_default "veto (bundled rules)"

# ---------------------------------------------------------------------------------------
# 3. rspamd: stock configuration minus everything that needs the network or Redis.
# ---------------------------------------------------------------------------------------
rs="$tmp/rspamd"
mkdir -p "$rs/conf/local.d" "$rs/conf/override.d" "$rs/run" "$rs/db" "$rs/log"
cat >"$rs/conf/rspamd.conf" <<EOF
# Written by bench/peers/scan_peers.sh. The stock /etc/rspamd configuration (\$CONFDIR), but
# no statistic.conf (Bayes needs Redis), one normal worker per core and a controller on
# private loopback ports, no proxy, no fuzzy storage; local.d/override.d are private.
.include "\$CONFDIR/metrics.conf"
.include "\$CONFDIR/actions.conf"
.include "\$CONFDIR/groups.conf"
.include "\$CONFDIR/composites.conf"
.include "\$CONFDIR/modules.conf"
.include "\$CONFDIR/settings.conf"
lua = "\$RULESDIR/rspamd.lua";
options {
  pidfile = "\$RUNDIR/rspamd.pid";
  .include "\$CONFDIR/options.inc"
  .include(try=true; priority=10) "\$LOCAL_CONFDIR/override.d/options.inc"
}
logging {
  type = "file";
  filename = "\$LOGDIR/rspamd.log";
  .include "\$CONFDIR/logging.inc"
}
worker "normal" {
  bind_socket = "127.0.0.1:$rspamd_port";
  .include "\$CONFDIR/worker-normal.inc"
  count = $ncpu;
}
worker "controller" {
  bind_socket = "127.0.0.1:$ctrl_port";
  count = 1;
  password = "$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')";
  secure_ip = "127.0.0.1";
  static_dir = "\${WWWDIR}";
}
EOF
cat >"$rs/conf/override.d/options.inc" <<EOF
# C modules: no dkim (DNS keys), no fuzzy_check (network hashes).
filters = "chartable,regexp";
# Every lookup goes to the local stub, which refuses it and counts it.
dns {
  nameserver = ["127.0.0.1:$dns_port"];
  timeout = 1s;
  retransmits = 1;
  sockets = 4;
}
EOF
# Off: DNS lists (rbl incl. SURBL/URIBL, emails), fuzzy, DKIM/ARC/DMARC/SPF and the lists
# built on them (whitelist), ASN, MX checks, remote maps (multimap freemail/disposable,
# phishing feeds, rspamd_update), Redis users (reputation, neural, greylist, ratelimit,
# replies, history_redis, url_redirector, dynamic conf), external scanners and exporters.
for m in rbl surbl emails fuzzy_check dkim dkim_signing arc dmarc spf whitelist asn mx_check \
         multimap phishing rspamd_update bimi reputation neural greylist ratelimit replies \
         history_redis url_redirector dcc antivirus external_services clickhouse elastic \
         metadata_exporter metric_exporter aws_s3 p0f spamtrap; do
  echo "enabled = false;" >"$rs/conf/override.d/$m.conf"
done
# hfilter: keep its local checks; the HELO, hostname and From-domain checks resolve names.
printf 'helo_enabled = false;\nhostname_enabled = false;\nfrom_enabled = false;\n' \
  >"$rs/conf/override.d/hfilter.conf"

rspamd_user=()
if [ "$(id -u)" -eq 0 ]; then
  if id _rspamd >/dev/null 2>&1; then
    chown -R _rspamd:_rspamd "$rs/run" "$rs/db" "$rs/log"
    rspamd_user=(-u _rspamd -g _rspamd)
  else
    rspamd_user=(-i)  # no _rspamd user: run the workers as root
  fi
fi
log "rspamd: starting on 127.0.0.1:$rspamd_port ($ncpu normal workers)"
rspamd -f -c "$rs/conf/rspamd.conf" "${rspamd_user[@]}" \
  --var="LOCAL_CONFDIR=$rs/conf" --var="DBDIR=$rs/db" --var="RUNDIR=$rs/run" \
  --var="LOGDIR=$rs/log" >"$rs/stdout.log" 2>&1 &
rspamd_pid=$!
wait_ready rspamd "$rspamd_pid" "$rspamd_port" 600 "$rs/stdout.log" "$rs/log/rspamd.log"
log "rspamd: ready ($(peers pids "$rspamd_pid" | wc -l) processes); warm-up"
rspamc_cmd=(rspamc -h "127.0.0.1:$rspamd_port" -n $((2 * ncpu)) -t 120)
head -z -n $((4 * ncpu)) "$tmp/files" | xargs -0 "${rspamc_cmd[@]}" >/dev/null 2>&1 || true
for r in $(seq "$reps"); do
  log "rspamd: pass $r/$reps"
  d0=$(dns_count); c0=$(peers cpu "$rspamd_pid"); t0=$EPOCHREALTIME
  xargs -0 "${rspamc_cmd[@]}" <"$tmp/files" >"$tmp/rspamd.out" 2>"$tmp/rspamd.err" || true
  t1=$EPOCHREALTIME; c1=$(peers cpu "$rspamd_pid"); d1=$(dns_count)
  alive "$rspamd_pid" || { tail_log "$rs/log/rspamd.log"; die "rspamd died during the pass"; }
  peers record "$runs/rspamd.$r.json" rspamd "rspamd $(rspamd --version | awk '{print $NF}')" \
    rspamc "$(fsub "$c1" "$c0")" "$(fsub "$t1" "$t0")" "$tmp/rspamd.out" $((d1 - d0))
done
stop "$rspamd_pid" rspamd
rspamd_pid=""

# ---------------------------------------------------------------------------------------
# 4. SpamAssassin: spamd -L (local tests only), no Bayes, no auto-learning, stock rules.
# ---------------------------------------------------------------------------------------
sa="$tmp/spamd"
mkdir -p "$sa/home"
children=$((2 * ncpu))
spamd_user=()
if [ "$(id -u)" -eq 0 ]; then
  u=debian-spamd; id "$u" >/dev/null 2>&1 || u=nobody
  chown "$u" "$sa/home"
  spamd_user=(-u "$u")
fi
log "spamd: starting on 127.0.0.1:$spamd_port ($children children)"
spamd -L -x -4 --listen="127.0.0.1:$spamd_port" -C /usr/share/spamassassin \
  --cf='use_bayes 0' --cf='bayes_auto_learn 0' --cf="dns_server 127.0.0.1:$dns_port" \
  --pidfile="$sa/spamd.pid" --min-children=$children --max-children=$children \
  --min-spare=1 --max-spare=$children --max-conn-per-child=1000000 \
  -s "$sa/spamd.log" -H "$sa/home" "${spamd_user[@]}" >"$sa/stdout.log" 2>&1 &
spamd_pid=$!
wait_ready spamd "$spamd_pid" "$spamd_port" 600 "$sa/stdout.log" "$sa/spamd.log"
spamc_one='r=$(spamc -d 127.0.0.1 -p "$0" -s 100000000 -t 600 -c <"$1"); printf "%s\t%s\t%s\n" "$?" "$r" "$1"'
log "spamd: ready ($(peers pids "$spamd_pid" | wc -l) processes); warm-up"
head -z -n $((2 * children)) "$tmp/files" |
  xargs -0 -P "$children" -n 1 sh -c "$spamc_one" "$spamd_port" >/dev/null 2>&1 || true
for r in $(seq "$sa_reps"); do
  log "spamd: pass $r/$sa_reps (minutes: SpamAssassin is slow)"
  : >"$tmp/spamd.out"
  d0=$(dns_count); c0=$(peers cpu "$spamd_pid"); t0=$EPOCHREALTIME
  xargs -0 -P "$children" -n 1 sh -c "$spamc_one" "$spamd_port" <"$tmp/files" \
    >>"$tmp/spamd.out" 2>"$tmp/spamd.err" || true
  t1=$EPOCHREALTIME; c1=$(peers cpu "$spamd_pid"); d1=$(dns_count)
  alive "$spamd_pid" || { tail_log "$sa/spamd.log"; die "spamd died during the pass"; }
  peers record "$runs/spamassassin.$r.json" spamassassin \
    "SpamAssassin $(spamd --version | sed -n 's/.*version \([0-9.]*\).*/\1/p' | head -1) (spamd -L)" \
    spamc "$(fsub "$c1" "$c0")" "$(fsub "$t1" "$t0")" "$tmp/spamd.out" $((d1 - d0))
done
stop "$spamd_pid" spamd
spamd_pid=""

# ---------------------------------------------------------------------------------------
# Report.
# ---------------------------------------------------------------------------------------
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
{
  echo "Machine: $model, $ncpu cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
  echo "Load average before/after: $load_before / $load_after (shared machine: compare CPU seconds, not wall)"
  echo "Corpus: $nmsg messages, $((mbytes / 1024)) KiB ($corpus_desc)"
  echo "Versions: $("$veto" --version 2>&1 | head -1); SpamAssassin $(spamd --version | sed -n 's/.*version \([0-9.]*\).*/\1/p' | head -1); rspamd $(rspamd --version | awk '{print $NF}')"
  echo "Command: bench/peers/scan_peers.sh${orig_args:+ $orig_args} (from the repository root; make peers runs it with the defaults)"
  echo
  peers table "$runs"
  cat "$tmp/notes"
} >"$report/peers.md"
cat "$report/peers.md"
log "report written to $report/peers.md"
