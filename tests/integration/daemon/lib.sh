# Shared helpers for the vetod integration tests (sourced). Every wait is bounded; every
# process is stopped by the PID we started.

SKIP=77
# A tsan build of vetod reads these (libmilter's own shutdown race; see the file).
export TSAN_OPTIONS="${TSAN_OPTIONS:-} suppressions=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/tsan.supp"

log() { echo "[$(date +%H:%M:%S)] $*"; }
die() { echo "FAIL: $*" >&2; exit 1; }

# A TCP port on 127.0.0.1 that is free right now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_for SECONDS CMD...: retries CMD every 0.1 s until it succeeds or time runs out.
wait_for() {
  local deadline=$(( $(date +%s%N) / 1000000 + $1 * 1000 )); shift
  while ! "$@" >/dev/null 2>&1; do
    if (( $(date +%s%N) / 1000000 > deadline )); then return 1; fi
    sleep 0.1
  done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pid_gone() { ! kill -0 "$1" 2>/dev/null; }

# stop_pid PID [SECONDS]: SIGTERM, wait, then SIGKILL.
stop_pid() {
  local pid=$1 secs=${2:-15}
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  if ! wait_for "$secs" pid_gone "$pid"; then
    echo "warning: PID $pid still there after ${secs}s, killing" >&2
    kill -KILL "$pid" 2>/dev/null || true
    wait_for 5 pid_gone "$pid" || true
  fi
}

# http_get URL: prints the body (python3: no curl dependency).
http_get() {
  python3 - "$1" <<'EOF'
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
        sys.stdout.write(r.read().decode())
except urllib.error.HTTPError as e:
    sys.stdout.write(e.read().decode()); sys.exit(1)
EOF
}

# metrics_has URL TEXT: the page at URL contains TEXT.
metrics_has() { http_get "$1" 2>/dev/null | grep -qF "$2"; }

# start_vetod CONFIG LISTEN LOG: starts vetod in the foreground (background job), sets VETOD_PID.
start_vetod() {
  "$VETOD" --config "$1" --listen "$2" --foreground >"$3" 2>&1 &
  VETOD_PID=$!
}

# wait_vetod LOG: until the "started" line (rules compiled, socket open), at most 60 s.
wait_vetod() {
  wait_for 60 grep -q "info: started:" "$1" || { cat "$1" >&2; die "vetod did not start"; }
}

# check_sanitizers LOG...: a sanitizer build of vetod reports to its stderr (the log); any
# report fails the test — except a ThreadSanitizer report with no frame in vetod itself:
# Debian's libmilter (stripped, so tsan.supp cannot name its functions) tears down its
# worker pool racily at shutdown, entirely inside the library; such reports are listed and
# ignored. A race with any frame of ours still fails.
check_sanitizers() {
  local f own
  for f in "$@"; do
    if grep -qE "ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer" "$f"; then
      grep -E -A30 "ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer" "$f" | head -80
      die "sanitizer report in $f"
    fi
    # Each TSan report: from its WARNING line to its SUMMARY line; count those with a frame
    # in the vetod binary.
    own=$(awk '/WARNING: ThreadSanitizer/ {r = 1; mine = 0}
               r && /\(vetod\+0x/ {mine = 1}
               r && /SUMMARY: ThreadSanitizer/ {r = 0; if (mine) n++}
               END {print n + 0}' "$f")
    if [ "$own" -gt 0 ]; then
      grep -E -A30 "WARNING: ThreadSanitizer" "$f" | head -80
      die "sanitizer report in $f"
    elif grep -q "WARNING: ThreadSanitizer" "$f"; then
      echo "note: $(grep -c 'WARNING: ThreadSanitizer' "$f") ThreadSanitizer report(s) inside libmilter only (no vetod frame), ignored: $f" >&2
    fi
  done
}
