#!/usr/bin/env bash
# Redis Streams throughput of `veto sms consume`: one consumer, then two, on a private
# redis-server at 127.0.0.1 (no persistence). The stream holds N entries made from the SMS
# corpus (synthetic senders/recipients); the time is from the consumers' start until the
# output stream holds N verdicts. Behaviour counters live in the same Redis (shared state).
#
#   bench/mobile_redis.sh [N] [extra consume flags...]     (default N = 50000)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
veto="$root/build/bin/veto"
n=${1:-50000}
shift || true
corpus="$root/../shared/corpora/sms/sms_spam_collection_dev.tsv"
[ -r "$corpus" ] || { echo "mobile_redis: corpus absent: $corpus" >&2; exit 0; }
tmp=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$tmp" \
  --daemonize no >"$tmp/redis.log" 2>&1 &
rpid=$!
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  kill "$rpid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
url="redis://127.0.0.1:$port"

produce() {  # RESP for N XADDs, piped in one go
  python3 - "$corpus" "$n" <<'PY' | redis-cli -p "$port" --pipe >/dev/null
import sys
lines = [l.rstrip("\n").split("\t", 1)[1] for l in open(sys.argv[1], encoding="utf-8")]
n = int(sys.argv[2])
out = sys.stdout.buffer
def cmd(*args):
    b = [f"*{len(args)}\r\n".encode()]
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        b.append(f"${len(a)}\r\n".encode() + a + b"\r\n")
    out.write(b"".join(b))
for i in range(n):
    cmd("XADD", "in", "*", "id", str(i), "sender", f"+4477{10000000 + (i * 7919) % 50000}",
        "recipient", f"+4479{10000000 + (i * 104729) % 1000000}", "text", lines[i % len(lines)])
PY
}

run() {  # consumers
  local k=$1
  shift
  redis-cli -p "$port" flushall >/dev/null
  produce
  "$veto" sms replay /dev/null >/dev/null 2>&1 || true  # warm the rule cache
  local start end rcpu0 rcpu1
  rcpu0=$(awk '{print $14 + $15}' /proc/$rpid/stat)
  start=$(date +%s.%N)
  pids=()
  for c in $(seq "$k"); do
    /usr/bin/time -f "cpu %U %S" -o "$tmp/t$c" \
      "$veto" sms consume --redis "$url" --stream in --group g --out-stream out --consumer "c$c" \
      --batch 200 --idle-exit-ms 1000 "$@" 2>"$tmp/c$c.log" &
    pids+=($!)
  done
  while [ "$(redis-cli -p "$port" xlen out)" -lt "$n" ]; do
    sleep 0.05
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || { cat "$tmp"/c*.log >&2; exit 1; }; done
  done
  end=$(date +%s.%N)
  rcpu1=$(awk '{print $14 + $15}' /proc/$rpid/stat)
  wait "${pids[@]}"
  pids=()
  # Wall-clock rate, and the CPU both sides used (consumers incl. their 1 s idle exit, and
  # redis-server): on a shared machine the CPU figure is the steadier one.
  local ccpu
  ccpu=$(cat "$tmp"/t* | awk '/^cpu/ {s += $2 + $3} END {print s}')
  rm -f "$tmp"/t*
  python3 -c "import sys,os; s=float(sys.argv[2])-float(sys.argv[1]); n=int(sys.argv[4]); c=float(sys.argv[5]); r=(int(sys.argv[7])-int(sys.argv[6]))/os.sysconf('SC_CLK_TCK'); print(f'redis consume, {sys.argv[3]} consumer(s): {n} msgs in {s:.2f} s = {n/s:,.0f} msgs/s wall; CPU: consumers {c:.2f} s, redis-server {r:.2f} s = {n/(c+r):,.0f} msgs per CPU-second')" \
    "$start" "$end" "$k" "$n" "$ccpu" "$rcpu0" "$rcpu1"
}
run 1 "$@"
run 2 "$@"
