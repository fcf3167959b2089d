#!/usr/bin/env bash
# vetod against miltertest (a real milter client, no MTA), over inet and unix sockets:
# every action (cases.lua), the size cap, sessions with several messages; then SIGHUP reload
# (a broken config keeps the old snapshot, a good one takes effect), the metrics endpoint, and
# SIGTERM. Usage: miltertest.sh PATH/TO/vetod
set -euo pipefail
VETOD=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
command -v miltertest >/dev/null || { echo "SKIP: miltertest not installed (make deps)"; exit $SKIP; }

W=$(mktemp -d /tmp/veto-miltertest.XXXXXX)
VETOD_PID=""
cleanup() { stop_pid "$VETOD_PID"; [ -n "${KEEP:-}" ] || rm -rf "$W"; }
trap cleanup EXIT

MPORT=$(free_port)
sed "s/^metrics_listen = \"\"/metrics_listen = \"127.0.0.1:$MPORT\"/" "$HERE/vetod_test.toml" \
  >"$W/veto.toml"
grep -q "127.0.0.1:$MPORT" "$W/veto.toml" || die "could not set metrics_listen"

# 1. inet
PORT=$(free_port)
start_vetod "$W/veto.toml" "inet:$PORT@127.0.0.1" "$W/vetod-inet.log"
wait_vetod "$W/vetod-inet.log"
log "vetod (PID $VETOD_PID) on inet:$PORT@127.0.0.1"
timeout 120 miltertest ${MT_VERBOSE:-} -s "$HERE/cases.lua" -D sock="inet:$PORT@127.0.0.1" \
  || { cat "$W/vetod-inet.log"; die "miltertest cases over inet"; }

# 2. metrics and health
m=$(http_get "http://127.0.0.1:$MPORT/metrics") || die "/metrics"
# rejects: GTUBE twice (reject, two_messages), four deny-list cases.
for want in 'veto_messages_total{action="reject"} 6' 'veto_messages_total{action="discard"} 1' \
            'veto_messages_total{action="quarantine"} 1' 'veto_oversize_total 1' \
            'veto_rule_hits_total{rule="VETO_GTUBE"} 2'; do
  grep -qF "$want" <<<"$m" || { echo "$m"; die "/metrics lacks: $want"; }
done
[ "$(http_get "http://127.0.0.1:$MPORT/healthz")" = "ok" ] || die "/healthz"
log "metrics ok"

# 3. reload: a broken file keeps the running snapshot; a good one takes effect.
cp "$W/veto.toml" "$W/good.toml"
echo "this is = = not toml" >>"$W/veto.toml"
kill -HUP "$VETOD_PID"
wait_for 30 grep -q "reload failed" "$W/vetod-inet.log" || die "no 'reload failed' line"
kill -0 "$VETOD_PID" || die "vetod died on a bad reload"
timeout 60 miltertest -s "$HERE/cases.lua" -D sock="inet:$PORT@127.0.0.1" -D only=reject \
  || die "old snapshot not serving after a failed reload"
sed 's/veto test: rejected as spam/veto test: reloaded/' "$W/good.toml" >"$W/veto.toml"
kill -HUP "$VETOD_PID"
wait_for 30 grep -q "reloaded: generation=2" "$W/vetod-inet.log" || die "no reload line"
timeout 60 miltertest -s "$HERE/cases.lua" -D sock="inet:$PORT@127.0.0.1" -D only=reject \
  -D reject_text="veto test: reloaded" || die "reloaded reply text not in effect"
m=$(http_get "http://127.0.0.1:$MPORT/metrics")
grep -qF 'veto_reloads_total{result="ok"} 1' <<<"$m" || die "reload ok not counted"
grep -qF 'veto_reloads_total{result="failed"} 1' <<<"$m" || die "reload failure not counted"
log "reload ok"
cp "$W/good.toml" "$W/veto.toml"

# 3b. A reload that adds an action (redirect) while a connection negotiated without it.
grep -v 'veto-test-redirect' "$W/good.toml" | python3 -c '
import sys; t = sys.stdin.read()
# drop the T_REDIRECT keyword block (its id, phrases, action and channel lines)
i = t.index("id = \"T_REDIRECT\"")
start = t.rindex("[[operator.keywords]]", 0, i)
end = t.index("channel = \"email\"", i) + len("channel = \"email\"")
sys.stdout.write(t[:start] + t[end:])' >"$W/veto.toml"
grep -q T_REDIRECT "$W/veto.toml" && die "could not remove the redirect rule"
kill -HUP "$VETOD_PID"
wait_for 30 grep -q "reloaded: generation=3" "$W/vetod-inet.log" || die "no reload to generation 3"
rm -f "$W/reloaded" "$W/reloaded.ready"
timeout 120 miltertest ${MT_VERBOSE:-} -s "$HERE/cases.lua" -D sock="inet:$PORT@127.0.0.1" \
  -D only=reload_adds_redirect -D marker="$W/reloaded" >"$W/mt-reload.out" 2>&1 &
MT_PID=$!
wait_for 30 test -f "$W/reloaded.ready" || { cat "$W/mt-reload.out"; die "miltertest did not get ready"; }
cp "$W/good.toml" "$W/veto.toml"
kill -HUP "$VETOD_PID"
wait_for 30 grep -q "reloaded: generation=4" "$W/vetod-inet.log" || die "no reload to generation 4"
touch "$W/reloaded"
wait "$MT_PID" || { cat "$W/mt-reload.out"; die "reload adding redirect mid-connection"; }
grep -q "needs a capability not negotiated" "$W/vetod-inet.log" || die "no log line for the fail mode"
log "reload adding an action mid-connection: fail mode, no half-done redirect"

# 4. SIGTERM: clean exit, status 0.
kill -TERM "$VETOD_PID"
wait_for 20 pid_gone "$VETOD_PID" || die "vetod did not stop within 20 s of SIGTERM"
wait "$VETOD_PID" || die "vetod exited non-zero after SIGTERM"
VETOD_PID=""
grep -q "info: stopped" "$W/vetod-inet.log" || die "no 'stopped' line"
log "SIGTERM ok"

# 5. unix socket, with the configured mode.
sed -i "s/^metrics_listen = .*/metrics_listen = \"\"/" "$W/veto.toml"
SOCK="$W/run/veto.sock"
mkdir -p "$W/run"
start_vetod "$W/veto.toml" "unix:$SOCK" "$W/vetod-unix.log"
wait_vetod "$W/vetod-unix.log"
[ "$(stat -c %a "$SOCK")" = "660" ] || die "socket mode $(stat -c %a "$SOCK"), expected 660"
timeout 120 miltertest -s "$HERE/cases.lua" -D sock="unix:$SOCK" \
  || { cat "$W/vetod-unix.log"; die "miltertest cases over unix"; }
stop_pid "$VETOD_PID" 20
VETOD_PID=""

# 6. In the background (no --foreground), with a pid file and a privilege drop to nobody, as
#    an operator would run it; reload still works as nobody (the config must be readable).
if id nobody >/dev/null 2>&1; then
  chmod 755 "$W"; chmod 644 "$W/veto.toml"
  mkdir -p "$W/pid"; chown nobody "$W/pid"
  sed -i "s|^\[daemon\]$|[daemon]\nuser = \"nobody\"\npid_file = \"$W/pid/vetod.pid\"|" "$W/veto.toml"
  MPORT=$(free_port)
  sed -i "s/^metrics_listen = .*/metrics_listen = \"127.0.0.1:$MPORT\"/" "$W/veto.toml"
  rm -f "$SOCK"
  "$VETOD" --config "$W/veto.toml" --listen "unix:$SOCK" >"$W/vetod-bg.out" 2>&1 \
    || { cat "$W/vetod-bg.out"; die "vetod did not start in the background"; }
  wait_for 60 test -s "$W/pid/vetod.pid" || die "no pid file"
  VETOD_PID=$(cat "$W/pid/vetod.pid")
  wait_for 60 test -S "$SOCK" || die "no socket"
  [ "$(awk '/^Uid:/{print $2}' "/proc/$VETOD_PID/status")" = "$(id -u nobody)" ] \
    || die "vetod still runs as uid $(awk '/^Uid:/{print $2}' "/proc/$VETOD_PID/status")"
  timeout 60 miltertest -s "$HERE/cases.lua" -D sock="unix:$SOCK" -D only=reject \
    || die "background vetod does not reject GTUBE"
  kill -HUP "$VETOD_PID"; sleep 1
  timeout 60 miltertest -s "$HERE/cases.lua" -D sock="unix:$SOCK" -D only=ham \
    || die "background vetod after SIGHUP"
  kill -0 "$VETOD_PID" || die "vetod died on SIGHUP as nobody"
  wait_for 30 metrics_has "http://127.0.0.1:$MPORT/metrics" 'veto_reloads_total{result="ok"} 1' \
    || die "reload as nobody failed"
  kill -TERM "$VETOD_PID"
  wait_for 20 pid_gone "$VETOD_PID" || die "background vetod did not stop"
  VETOD_PID=""
  [ ! -e "$W/pid/vetod.pid" ] || die "pid file left behind"
  log "background, pid file, privilege drop to nobody, reload: ok"
fi
check_sanitizers "$W/vetod-inet.log" "$W/vetod-unix.log"
log "PASS"
